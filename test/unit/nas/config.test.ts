import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildNasConfig,
  formatCredentials,
  parseCredentialsPassword,
  parseNasConfig,
  serializeNasConfig,
  validateSetupRequest,
} from '../../../src/nas/config.js';
import { NasError } from '../../../src/nas/errors.js';

const valid = { host: 'nas.local', share: 'experiments', username: 'lab', password: 'pa$$ word=1' };

describe('validateSetupRequest', () => {
  it('applies the contract defaults and strips slashes', () => {
    assert.deepEqual(validateSetupRequest({ ...valid, host: '//nas.local/', share: '/experiments/', base_subdir: '/Box01/a/', unknown: 1 }), {
      host: 'nas.local',
      share: 'experiments',
      username: 'lab',
      password: 'pa$$ word=1',
      baseSubdir: 'Box01/a',
      retentionDays: 14,
      domain: null,
      port: 445,
      transport: 'auto',
    });
  });

  it('keeps explicit optional values', () => {
    const s = validateSetupRequest({ ...valid, retention_days: 1, domain: 'LAB', port: 4455, transport: 'smbclient', base_subdir: null });
    assert.equal(s.retentionDays, 1);
    assert.equal(s.domain, 'LAB');
    assert.equal(s.port, 4455);
    assert.equal(s.transport, 'smbclient');
    assert.equal(s.baseSubdir, '');
  });

  const rejected: Array<[string, unknown, RegExp]> = [
    ['empty host', { ...valid, host: '' }, /host\/share\/username\/password required/],
    ['host of slashes', { ...valid, host: '//' }, /required/],
    ['missing share', { host: 'h', username: 'u', password: 'p' }, /required/],
    ['blank username', { ...valid, username: '  ' }, /required/],
    ['empty password', { ...valid, password: '' }, /required/],
    ['not an object', 'nas.local', /required/],
    ['retention 0', { ...valid, retention_days: 0 }, /retention_days must be at least 1/],
    ['retention negative', { ...valid, retention_days: -3 }, /retention_days/],
    ['retention not integer', { ...valid, retention_days: 1.5 }, /retention_days must be an integer/],
    ['base_subdir ..', { ...valid, base_subdir: 'a/../b' }, /must not contain "\.\."/],
    ['base_subdir only ..', { ...valid, base_subdir: '..' }, /must not contain/],
    ['base_subdir SMB-invalid char', { ...valid, base_subdir: 'a:b' }, /characters SMB does not allow/],
    ['port 0', { ...valid, port: 0 }, /port must be between 1 and 65535/],
    ['port too large', { ...valid, port: 70000 }, /port/],
    ['transport unknown', { ...valid, transport: 'ftp' }, /transport must be/],
    ['host with space', { ...valid, host: 'nas local' }, /host is invalid/],
    ['host option-like', { ...valid, host: '-oexec' }, /host is invalid/],
    ['password with newline', { ...valid, password: 'a\nusername=evil' }, /password must not contain line breaks/],
    ['username with newline', { ...valid, username: 'lab\npassword=x' }, /username is invalid/],
    ['host wrong type', { ...valid, host: 5 }, /host must be a string/],
  ];
  for (const [name, body, message] of rejected) {
    it(`rejects ${name} with nas.invalid_config`, () => {
      assert.throws(
        () => validateSetupRequest(body),
        (err: unknown) => err instanceof NasError && err.code === 'nas.invalid_config' && message.test(err.message),
      );
    });
  }

  it('never echoes the password in an error', () => {
    const secret = 'Very$ecret\nline';
    try {
      validateSetupRequest({ ...valid, password: secret });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(!(err as Error).message.includes('Very$ecret'));
      assert.ok(!JSON.stringify(err).includes('Very$ecret'));
    }
  });
});

describe('config and credentials files', () => {
  const setup = validateSetupRequest({ ...valid, base_subdir: 'Box01', domain: 'WORKGROUP', transport: 'mount', retention_days: 7 });

  it('config has the contract fields, sorted keys, no password', () => {
    const config = buildNasConfig(setup, { credentialsPath: '/opt/box/.smbcredentials_nas', mountRoot: '/mnt/nas_box' });
    const text = serializeNasConfig(config);
    assert.equal(
      text,
      `{
  "base_subdir": "Box01",
  "cifs_vers": "3.0",
  "cred_path": "/opt/box/.smbcredentials_nas",
  "domain": "WORKGROUP",
  "host": "nas.local",
  "mount_root": "/mnt/nas_box",
  "port": 445,
  "retention_days": 7,
  "share": "experiments",
  "transport": "mount",
  "username": "lab"
}
`,
    );
    assert.ok(!text.includes(valid.password));
    assert.deepEqual(parseNasConfig(text), { config });
  });

  it('reading tolerates missing [NEW] fields and rejects broken files', () => {
    const legacy = JSON.stringify({ host: 'h', share: 's', username: 'u', cred_path: '/c', base_subdir: '', mount_root: '/m', retention_days: 14, cifs_vers: '3.0', domain: null });
    const parsed = parseNasConfig(legacy);
    assert.equal(parsed.config?.port, 445);
    assert.equal(parsed.config?.transport, 'auto');
    assert.equal(parseNasConfig('{').config, null);
    assert.equal(parseNasConfig('[]').config, null);
    assert.equal(parseNasConfig(JSON.stringify({ host: 'h' })).config, null);
    assert.equal(parseNasConfig(legacy.replace('"retention_days":14', '"retention_days":0')).config, null);
  });

  it('credentials: one key=value per line, domain only when given', () => {
    assert.equal(formatCredentials(setup), 'username=lab\npassword=pa$$ word=1\ndomain=WORKGROUP\n');
    assert.equal(formatCredentials({ ...setup, domain: null }), 'username=lab\npassword=pa$$ word=1\n');
    assert.equal(parseCredentialsPassword(formatCredentials(setup)), 'pa$$ word=1');
    assert.equal(parseCredentialsPassword('username=x\n'), null);
  });
});
