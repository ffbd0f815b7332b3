import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { baseNameOf, contentDispositionFor, contentTypeFor } from '../../../src/http/download.js';

describe('contentTypeFor', () => {
  test('by extension, case-insensitive (rest-api 3.14)', () => {
    assert.equal(contentTypeFor('Wells/slot01/CV/x_CV.csv'), 'text/csv; charset=utf-8');
    assert.equal(contentTypeFor('X.CSV'), 'text/csv; charset=utf-8');
    assert.equal(contentTypeFor('plot.png'), 'image/png');
    assert.equal(contentTypeFor('meta.json'), 'application/json');
    assert.equal(contentTypeFor('notes.txt'), 'text/plain; charset=utf-8');
    assert.equal(contentTypeFor('UPLOAD_DONE'), 'text/plain; charset=utf-8');
    assert.equal(contentTypeFor('upload_failed'), 'text/plain; charset=utf-8');
    assert.equal(contentTypeFor('.hidden'), 'text/plain; charset=utf-8');
    assert.equal(contentTypeFor('archive.zip'), 'application/octet-stream');
    assert.equal(contentTypeFor('a.csv.gz'), 'application/octet-stream');
    assert.equal(contentTypeFor('dir.csv/file.bin'), 'application/octet-stream');
  });
});

describe('contentDispositionFor', () => {
  test('ASCII names: quoted filename only, base name only', () => {
    assert.equal(baseNameOf('Wells/slot01/CV/a.csv'), 'a.csv');
    assert.equal(contentDispositionFor('Wells/slot01/CV/Demo_slot01_CV.csv'), 'attachment; filename="Demo_slot01_CV.csv"');
    assert.equal(contentDispositionFor('a "b" \\c.txt'), 'attachment; filename="a \\"b\\" \\\\c.txt"');
  });

  test('non-ASCII names: ASCII fallback plus RFC 5987 filename*', () => {
    assert.equal(
      contentDispositionFor('Größe (1)*.csv'),
      "attachment; filename=\"Gr__e (1)*.csv\"; filename*=UTF-8''Gr%C3%B6%C3%9Fe%20%281%29%2A.csv",
    );
    assert.equal(contentDispositionFor('測定.csv'), "attachment; filename=\"__.csv\"; filename*=UTF-8''%E6%B8%AC%E5%AE%9A.csv");
    assert.equal(contentDispositionFor("it's\n.csv"), "attachment; filename=\"it's_.csv\"; filename*=UTF-8''it%27s%0A.csv");
  });

  test('the header value is always printable ASCII (Node rejects anything else)', () => {
    for (const name of ['Größe.csv', '測定.csv', 'a\u0000b', 'tab\there', '\u{1F600}.png']) {
      assert.match(contentDispositionFor(name), /^[\x20-\x7e]+$/);
    }
  });
});
