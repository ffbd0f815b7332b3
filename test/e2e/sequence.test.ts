/**
 * E2E journeys 2 and 5: a CV → CA sequence on two slots in parallel over real HTTP against the
 * built daemon with virtual potentiostats on ptys (files, CSV point counts, progress, downloads,
 * ZIP), two jobs sharing one run directory (scoping), and every path-traversal attempt on the
 * file endpoint.
 */
import assert from 'node:assert/strict';
import { readFile, symlink, writeFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import {
  ISO_UTC,
  assertEnvelope,
  assertNothingLeftBehind,
  cleanupOf,
  createCleanupScope,
  isTerminalStatus,
  makeTempDir,
  readZip,
  sleep,
  splitCsv,
  startDaemon,
  submitJob,
  waitForJob,
  type DaemonHandle,
  type JobStatusLike,
} from '../helpers/daemon.js';

const DT = 0.00036;
/** modes.md 2.3: L(a,b) = trunc((|b−a| / scan_rate) / Δt). */
const rampPoints = (a: number, b: number, rate: number) => Math.trunc(Math.abs(b - a) / rate / DT);

/** CV of ~2 s, sent as numeric strings the way the GUI's forms do (rest-api 1.5). */
const CV_PARAMS = { start: '0', vertex1: '0.5', vertex2: '-0.5', end: '0', scan_rate: '1', cycles: '1' };
const CV_POINTS = rampPoints(0, 0.5, 1) + rampPoints(0.5, -0.5, 1) + rampPoints(-0.5, 0, 1); // 1388 + 2777 + 1388
const CA_PARAMS = { potential: 0.2, duration: 1 };
const CA_POINTS = Math.trunc(1 / DT); // 2777

const CV_HEADER = 'Time (s),Potential (V),Current (A),Cycle,Exp,Applied potential (V)';
const CA_HEADER = 'Time (s),Potential (V),Current (A),Exp,Applied potential (V)';

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;

before(async () => {
  sims = await startSimulators({ count: 2, noise: 1, smoothing: true });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
});

after(() => scope.run());

describe('CV → CA on two slots in parallel', () => {
  const prefix = 'E2E_Seq_Batch_A_2025-11-03_10-15-31Z';
  const runDirRel = 'E2E_Seq/Batch_A/2025-11-03T10-15-31Z';
  const fileOf = (slot: string, mode: string, ext: string) => `Wells/${slot}/${mode}/${prefix}_${slot}_${mode}.${ext}`;
  let job: JobStatusLike;
  let runDir: string;

  test('the job runs both modes on both slots and ends done with monotonic progress', async () => {
    assert.equal(CV_POINTS, 5553);
    assert.equal(CA_POINTS, 2777);
    const created = await submitJob(daemon, {
      devices: ['slot01', 'slot02'],
      modes: [' cv ', 'CA'],
      params_by_mode: { CV: CV_PARAMS, ca: CA_PARAMS },
      experiment_name: 'E2E Seq',
      subdir: 'Batch A',
      client_datetime: '2025-11-03T10:15:31Z',
      group_id: 'Seq-Group',
      make_plot: true,
    });
    assert.match(created.run_id, /^\d{8}T\d{6}_[0-9a-f]{6}$/);
    assert.deepEqual(created.modes, ['CV', 'CA']);
    assert.ok(['queued', 'running'].includes(created.status), created.status);
    assert.equal(created.ended_at, null);
    assert.match(created.started_at, ISO_UTC);
    assert.equal(created.group_id, 'Seq-Group');
    assert.deepEqual(created.slots.map((s) => s.slot), ['slot01', 'slot02']);
    // Queued: remaining_s = ceil(Σ (N·Δt + 1 s)) over both modes (rest-api 5.2, modes.md 5).
    const planned = Math.ceil(CV_POINTS * DT + 1 + CA_POINTS * DT + 1);
    for (const s of created.slots) {
      if (s.status === 'queued') {
        assert.equal(s.progress_pct, 0);
        assert.equal(s.remaining_s, planned);
        assert.deepEqual(s.remaining_modes, ['CV', 'CA']);
        assert.equal(s.current_mode, null);
      }
    }

    // Poll with the GUI's call until terminal.
    const seen: JobStatusLike[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await daemon.post('/jobs/status', { run_ids: [created.run_id] });
      assert.equal(res.status, 200, res.text);
      const [j] = res.json as JobStatusLike[];
      seen.push(j!);
      if (isTerminalStatus(j!.status)) break;
      assert.ok(Date.now() < deadline, 'job finished within 60 s');
      await sleep(120);
    }
    job = seen.at(-1)!;
    assert.equal(job.status, 'done', JSON.stringify(job));

    // progress_pct never goes back, job and slots; below 100 until terminal, 100 at the end.
    const live = seen.slice(0, -1);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]!.progress_pct >= seen[i - 1]!.progress_pct, `job progress monotonic: ${seen.map((s) => s.progress_pct).join(',')}`);
      for (let k = 0; k < 2; k++) {
        assert.ok(seen[i]!.slots[k]!.progress_pct >= seen[i - 1]!.slots[k]!.progress_pct, `slot ${k} progress monotonic`);
      }
    }
    for (const s of live) assert.ok(s.progress_pct <= 99, 'never 100 before the end');
    // remaining_s only goes down while the job is live, and actually decreased.
    const remaining = live.map((s) => s.remaining_s);
    assert.ok(remaining.every((r) => typeof r === 'number'), `remaining_s known throughout: ${remaining.join(',')}`);
    for (let i = 1; i < remaining.length; i++) assert.ok(remaining[i]! <= remaining[i - 1]!, `remaining_s never increases: ${remaining.join(',')}`);
    assert.ok(remaining.length >= 5, `polled the live job several times (${remaining.length})`);
    assert.ok(remaining[0]! > remaining.at(-1)!, `remaining_s decreased: ${remaining.join(',')}`);
    assert.ok(remaining[0]! >= planned - 1, `initial remaining_s (${remaining[0]}) covers the whole sequence (${planned})`);
    // Both modes observed as current_mode on each slot; modes never go backwards.
    for (let k = 0; k < 2; k++) {
      const modes = live.map((s) => s.slots[k]!.current_mode).filter((m): m is string => m !== null);
      assert.ok(modes.includes('CV') && modes.includes('CA'), `slot ${k} went through CV and CA: ${modes.join(',')}`);
      assert.ok(modes.lastIndexOf('CV') < modes.indexOf('CA'), 'CV before CA');
      for (const s of live) if (s.slots[k]!.status === 'running' && s.slots[k]!.current_mode === 'CA') assert.deepEqual(s.slots[k]!.remaining_modes, []);
    }
    // Job-level current_mode follows the least advanced slot (4.3).
    for (const s of live) {
      if (s.status !== 'running') continue;
      const idx = s.slots.map((x) => (x.status === 'queued' ? 0 : x.current_mode === 'CA' ? 1 : x.current_mode === 'CV' ? 0 : 2));
      const k = Math.min(...idx.filter((i) => i < 2));
      if (Number.isFinite(k)) assert.equal(s.current_mode, ['CV', 'CA'][k]);
    }

    // Final state.
    assert.equal(job.progress_pct, 100);
    assert.equal(job.remaining_s, 0);
    assert.match(job.ended_at ?? '', ISO_UTC);
    assert.equal(job.mode, 'CA');
    assert.equal(job.current_mode, null);
    assert.deepEqual(job.remaining_modes, []);
    for (const s of job.slots) {
      assert.equal(s.status, 'done');
      assert.equal(s.message, null);
      assert.equal(s.progress_pct, 100);
      assert.equal(s.remaining_s, 0);
      assert.equal(s.current_mode, null);
      assert.deepEqual(s.remaining_modes, []);
      assert.match(s.started_at ?? '', ISO_UTC);
      assert.match(s.ended_at ?? '', ISO_UTC);
      assert.deepEqual(s.files, [fileOf(s.slot, 'CA', 'csv'), fileOf(s.slot, 'CA', 'png'), fileOf(s.slot, 'CV', 'csv'), fileOf(s.slot, 'CV', 'png')]);
      assert.equal(s['lost'], 0, 'no lost points');
      assert.equal(s['dac_underruns'], 0, 'no DAC underruns');
      assert.equal(s['adc_overflows'], 0, 'no ADC overflows');
      assert.equal(s['points'], CV_POINTS + CA_POINTS);
      assert.equal(s['expected_points'], CV_POINTS + CA_POINTS);
    }
  });

  test('files on disk: CSV header and row counts equal the plan, PNGs, record and run index', async () => {
    assert.ok(job, 'the job ran');
    runDir = path.join(daemon.runsRoot, ...runDirRel.split('/'));
    for (const slot of ['slot01', 'slot02']) {
      const cv = splitCsv(await readFile(path.join(runDir, fileOf(slot, 'CV', 'csv')), 'utf8'));
      assert.equal(cv.header, CV_HEADER);
      assert.equal(cv.rows.length, CV_POINTS);
      assert.ok(cv.rows.every((r) => r.split(',').length === 6), 'every CV row has 6 columns');
      assert.equal(cv.rows[0]!.split(',')[0], '0.0');
      assert.equal(cv.rows[1]!.split(',')[0], '0.00036');
      assert.ok(cv.rows.every((r) => r.split(',')[3] === '1.0'), 'one cycle, label 1.0');
      assert.equal(cv.rows[0]!.split(',')[5], '0.0', 'first applied potential = start');
      assert.equal(cv.rows.at(-1)!.split(',')[5], '0.0', 'last applied potential = end');
      assert.equal(cv.rows[1388]!.split(',')[5], '0.5', 'the vertex repeats at the segment joint');

      const ca = splitCsv(await readFile(path.join(runDir, fileOf(slot, 'CA', 'csv')), 'utf8'));
      assert.equal(ca.header, CA_HEADER);
      assert.equal(ca.rows.length, CA_POINTS);
      assert.ok(ca.rows.every((r) => r.split(',').length === 5 && r.endsWith(',1.0,0.20000000298023224')), 'CA rows: Exp 1.0, applied f32(0.2)');

      for (const mode of ['CV', 'CA']) {
        const png = await readFile(path.join(runDir, fileOf(slot, mode, 'png')));
        assert.ok(png.length > 1000, `${mode} plot is a real image`);
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
      }
    }
    // Nothing else in the run directory than the two slots' mode folders.
    assert.deepEqual((await readdir(path.join(runDir, 'Wells'))).sort(), ['slot01', 'slot02']);

    // The persisted job record holds the coerced parameters and the device serials (4.8, 1.5).
    const record = JSON.parse(await readFile(path.join(daemon.runsRoot, '.jobs', `${job.run_id}.json`), 'utf8')) as {
      params_by_mode: Record<string, unknown>;
      status: string;
      slots: Array<{ slot: string; sn: string | null }>;
    };
    // The record holds what ran: coerced values plus the shared per-mode parameters filled in
    // (the job's gain and charge cut-off, no rest).
    const shared = { tia_gain: 0, rest_s: 0, charge_cutoff_c: null };
    assert.deepEqual(record.params_by_mode['CV'], { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 1, cycles: 1, ...shared });
    assert.deepEqual(record.params_by_mode['CA'], { ...CA_PARAMS, ...shared });
    assert.equal(record.status, 'done');
    const devices = (await daemon.get<{ devices: Array<{ slot: string; sn: string | null }> }>('/devices')).json;
    assert.deepEqual(
      record.slots.map((s) => [s.slot, s.sn]),
      devices.devices.map((d) => [d.slot, d.sn]),
    );
    const index = JSON.parse(await readFile(path.join(daemon.runsRoot, '_run_paths.json'), 'utf8')) as Record<string, string>;
    assert.equal(index[job.run_id], runDirRel);
  });

  test('GET /runs/{id}/files, file downloads byte-identical, ZIP with the same entries', async () => {
    assert.ok(job && runDir, 'the job ran');
    // The slots' files plus run.json, the run's provenance at the top of the run folder.
    const expected = [...job.slots.flatMap((s) => s.files), 'run.json'].sort();
    const list = await daemon.get(`/runs/${job.run_id}/files`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json, { files: expected });

    const csvPath = fileOf('slot02', 'CV', 'csv');
    const dl = await daemon.get(`/runs/${job.run_id}/file?path=${encodeURIComponent(csvPath)}`);
    assert.equal(dl.status, 200, dl.text);
    const onDisk = await readFile(path.join(runDir, csvPath));
    assert.ok(dl.body.equals(onDisk), 'downloaded CSV is byte-identical to the file on disk');
    assert.equal(dl.headers['content-type'], 'text/csv; charset=utf-8');
    assert.equal(dl.headers['content-length'], String(onDisk.length));
    assert.equal(dl.headers['content-disposition'], `attachment; filename="${prefix}_slot02_CV.csv"`);

    const png = await daemon.get(`/runs/${job.run_id}/file?path=${fileOf('slot01', 'CA', 'png')}`);
    assert.equal(png.status, 200);
    assert.equal(png.headers['content-type'], 'image/png');
    assert.ok(png.body.equals(await readFile(path.join(runDir, fileOf('slot01', 'CA', 'png')))));

    const zip = await daemon.get(`/runs/${job.run_id}/zip`);
    assert.equal(zip.status, 200, zip.text);
    assert.equal(zip.headers['content-type'], 'application/zip');
    assert.equal(zip.headers['content-disposition'], `attachment; filename="${job.run_id}.zip"`);
    const entries = readZip(zip.body);
    assert.deepEqual(entries.map((e) => e.name), expected, 'ZIP entries = the run files, sorted');
    for (const e of entries) {
      assert.equal(e.method, 8, `${e.name} is DEFLATEd`);
      assert.ok(e.data.equals(await readFile(path.join(runDir, e.name))), `${e.name} in the ZIP equals the file on disk`);
    }
  });
});

describe('two jobs sharing one run directory, and path traversal', () => {
  const common = {
    modes: ['CA'],
    params_by_mode: { CA: { potential: 0.1, duration: 0.3 } },
    experiment_name: 'Shared',
    subdir: 'Plate-7',
    client_datetime: '2025-11-04 08:00:00',
    make_plot: false,
  };
  const runDirRel = 'Shared/Plate-7/2025-11-04_08-00-00';
  const csvOf = (slot: string) => `Wells/${slot}/CA/Shared_Plate-7_2025-11-04_08-00-00_${slot}_CA.csv`;
  let a: JobStatusLike;
  let b: JobStatusLike;
  let runDir: string;

  test('each run lists, downloads and zips only its own slot', async () => {
    const [ja, jb] = await Promise.all([
      submitJob(daemon, { ...common, devices: ['slot01'], group_id: 'well-A1' }),
      submitJob(daemon, { ...common, devices: ['slot02'], group_id: 'well-A2' }),
    ]);
    a = await waitForJob(daemon, ja.run_id);
    b = await waitForJob(daemon, jb.run_id);
    assert.equal(a.status, 'done', JSON.stringify(a));
    assert.equal(b.status, 'done', JSON.stringify(b));
    runDir = path.join(daemon.runsRoot, ...runDirRel.split('/'));
    const index = JSON.parse(await readFile(path.join(daemon.runsRoot, '_run_paths.json'), 'utf8')) as Record<string, string>;
    assert.equal(index[a.run_id], runDirRel);
    assert.equal(index[b.run_id], runDirRel, 'both runs map to the same run directory');

    assert.deepEqual(a.slots[0]!.files, [csvOf('slot01')]);
    assert.deepEqual(b.slots[0]!.files, [csvOf('slot02')]);
    // Each run lists its own slot and the shared folder's run.json (one entry per job).
    assert.deepEqual((await daemon.get(`/runs/${a.run_id}/files`)).json, { files: [csvOf('slot01'), 'run.json'] });
    assert.deepEqual((await daemon.get(`/runs/${b.run_id}/files`)).json, { files: [csvOf('slot02'), 'run.json'] });
    const zipA = readZip((await daemon.get(`/runs/${a.run_id}/zip`)).body);
    const zipB = readZip((await daemon.get(`/runs/${b.run_id}/zip`)).body);
    assert.deepEqual(zipA.map((e) => e.name), [csvOf('slot01'), 'run.json'], 'ZIP of run A holds only slot01');
    assert.deepEqual(zipB.map((e) => e.name), [csvOf('slot02'), 'run.json'], 'ZIP of run B holds only slot02');
    const shared = JSON.parse(zipA[1]!.data.toString('utf8')) as { jobs: Array<{ run_id: string }> };
    assert.deepEqual(shared.jobs.map((j) => j.run_id).sort(), [a.run_id, b.run_id].sort());
    assert.ok(zipA[0]!.data.equals(await readFile(path.join(runDir, csvOf('slot01')))));
    const rows = splitCsv(zipB[0]!.data.toString('utf8')).rows.length;
    assert.equal(rows, Math.trunc(0.3 / DT));

    // Group filter: by group label (case-insensitive) and by storage subfolder.
    const byLabel = (await daemon.get('/jobs?group_id=WELL-a1')).json as Array<{ run_id: string }>;
    assert.deepEqual(byLabel.map((j) => j.run_id), [a.run_id]);
    const bySubfolder = (await daemon.get('/jobs?group_id=%20plate-7%20')).json as Array<{ run_id: string }>;
    assert.deepEqual(bySubfolder.map((j) => j.run_id).sort(), [a.run_id, b.run_id].sort());
  });

  test('every traversal attempt on /runs/{id}/file is 404 runs.file_not_found', async (t) => {
    assert.ok(a && b && runDir, 'the shared runs exist');
    const outside = await makeTempDir(cleanupOf(t), 'beepbox-e2e-outside-');
    await writeFile(path.join(outside, 'secret.txt'), 'SECRET-OUTSIDE-THE-RUN\n');
    const slotDir = path.join(runDir, 'Wells', 'slot01');
    // Symlinks inside the run's own folder: to a file outside, to a directory outside, to a file inside.
    await symlink(path.join(outside, 'secret.txt'), path.join(slotDir, 'CA', 'link-out.csv'));
    await symlink(outside, path.join(slotDir, 'dir-out'));
    await symlink(path.join(daemon.runsRoot, '_run_paths.json'), path.join(slotDir, 'CA', 'index-link.json'));
    await symlink(path.join(runDir, csvOf('slot01')), path.join(slotDir, 'CA', 'link-in.csv'));
    await mkdir(path.join(slotDir, 'CA', 'subdir'));

    const own = csvOf('slot01');
    const attempts: Array<[string, string]> = [
      ['dot-dot to the run index', '../../../_run_paths.json'],
      ['dot-dot to a job record', `../../../.jobs/${a.run_id}.json`],
      ['dot-dot from inside the own folder', `Wells/slot01/CA/../../../../../../_run_paths.json`],
      ['dot-dot to /etc/passwd', '../../../../../../../../../../etc/passwd'],
      ['encoded ../', '%2e%2e%2f%2e%2e%2f%2e%2e%2f_run_paths.json'],
      ['encoded upper-case ..%2F', '..%2F..%2F..%2F_run_paths.json'],
      ['double-encoded ../', '%252e%252e%252f%252e%252e%252f%252e%252e%252f_run_paths.json'],
      ['double-encoded own file', encodeURIComponent(encodeURIComponent(own))],
      ['absolute /etc/passwd', '/etc/passwd'],
      ['absolute encoded', '%2Fetc%2Fpasswd'],
      ['absolute path of an own file', encodeURIComponent(path.join(runDir, own))],
      ['windows absolute', encodeURIComponent('C:\\Windows\\win.ini')],
      ['backslash dot-dot', encodeURIComponent('..\\..\\..\\_run_paths.json')],
      ['NUL inside the name', `${own}%00.png`],
      ['NUL alone', '%00'],
      ['empty path', ''],
      ['symlink to a file outside', 'Wells/slot01/CA/link-out.csv'],
      ['symlink to a directory outside', 'Wells/slot01/dir-out/secret.txt'],
      ['symlink to a file of RUNS_ROOT outside the run', 'Wells/slot01/CA/index-link.json'],
      ['a directory', 'Wells/slot01/CA'],
      ['a directory with a trailing slash', 'Wells/slot01/CA/'],
      ['an empty directory', 'Wells/slot01/CA/subdir'],
      ['the Wells directory', 'Wells'],
      ['the run directory itself', '.'],
      ["another run's slot in the shared directory", csvOf('slot02')],
      ["another run's slot via dot-dot", `Wells/slot01/../slot02/CA/Shared_Plate-7_2025-11-04_08-00-00_slot02_CA.csv`],
      ['a missing file', 'Wells/slot01/CA/missing.csv'],
    ];
    for (const [what, query] of attempts) {
      const res = await daemon.get(`/runs/${a.run_id}/file?path=${query}`);
      assertEnvelope(res, 404, 'runs.file_not_found', 'File not found');
      assert.ok(!res.text.includes('SECRET-OUTSIDE') && !res.text.includes('root:'), `${what}: nothing leaks`);
    }
    // The same request with the file's own run works (control): the refusals are not blanket.
    const control = await daemon.get(`/runs/${b.run_id}/file?path=${encodeURIComponent(csvOf('slot02'))}`);
    assert.equal(control.status, 200);
    // A symlink whose real target stays inside the run directory is served (6.6).
    const inside = await daemon.get(`/runs/${a.run_id}/file?path=Wells/slot01/CA/link-in.csv`);
    assert.equal(inside.status, 200, inside.text);
    assert.ok(inside.body.equals(await readFile(path.join(runDir, own))));
    // Listings and ZIPs never include symlinks.
    assert.deepEqual((await daemon.get(`/runs/${a.run_id}/files`)).json, { files: [own, 'run.json'] });
    assert.deepEqual(readZip((await daemon.get(`/runs/${a.run_id}/zip`)).body).map((e) => e.name), [own, 'run.json']);

    // A missing path parameter is a validation error (3.14).
    const missing = await daemon.get(`/runs/${a.run_id}/file`);
    const body = assertEnvelope(missing, 422, 'request.validation_error');
    assert.deepEqual((body.errors as Array<{ loc: unknown[] }>).map((e) => e.loc), [['query', 'path']]);
  });

  test('run_id ".." (raw and encoded) is 404 runs.not_found on every run route', async () => {
    for (const id of ['..', '%2e%2e', '.', '..%2f..', 'a.b', '%2E%2E']) {
      for (const route of ['files', 'file?path=_run_paths.json', 'file?path=../_run_paths.json', 'zip']) {
        const res = await daemon.get(`/runs/${id}/${route}`);
        assertEnvelope(res, 404, 'runs.not_found', 'Run not found');
      }
    }
    // Unknown but well-formed run ids as well.
    for (const route of ['files', 'file?path=x', 'zip']) assertEnvelope(await daemon.get(`/runs/no_such_run/${route}`), 404, 'runs.not_found');
  });

  test('a legacy run directory RUNS_ROOT/<run_id> without a job record is served (6.4)', async () => {
    const legacy = path.join(daemon.runsRoot, 'legacy_run-01', 'Wells', 'slot03', 'OCP');
    await mkdir(legacy, { recursive: true });
    await writeFile(path.join(legacy, 'old.csv'), 'Time (s),Potential (V),Current (A),Exp\r\n0.0,0.1,0.0,1.0\r\n');
    const files = await daemon.get('/runs/legacy_run-01/files');
    assert.equal(files.status, 200, files.text);
    assert.deepEqual(files.json, { files: ['Wells/slot03/OCP/old.csv'] });
    const dl = await daemon.get('/runs/legacy_run-01/file?path=Wells/slot03/OCP/old.csv');
    assert.equal(dl.status, 200);
    assertEnvelope(await daemon.get('/runs/legacy_run-01/file?path=../_run_paths.json'), 404, 'runs.file_not_found');
    // The job routes do not know it.
    assertEnvelope(await daemon.get('/jobs/legacy_run-01'), 404, 'jobs.not_found');
  });
});

describe('shutdown', () => {
  test('graceful stop exits 0 promptly and no log line contains the API key', async () => {
    const { elapsedMs } = await daemon.stop();
    // Nothing is running: stopping must not linger (a systemd restart waits for it).
    assert.ok(elapsedMs < 1500, `idle daemon exited ${Math.round(elapsedMs)} ms after SIGTERM`);
    // It rendered plots: the Chromium it started and its profile are gone with it.
    await assertNothingLeftBehind(daemon);
    const lines = daemon.logLines();
    assert.ok(lines.some((l) => l.includes('"msg":"request"')), 'request lines were logged');
    for (const line of lines) assert.ok(!line.includes(daemon.apiKey), `API key in a log line: ${line}`);
    assert.ok(!daemon.stderr().includes(daemon.apiKey));
  });
});

