import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAuthorised, safeEqual } from '../../../src/http/auth.js';

describe('safeEqual', () => {
  test('equal strings match; any difference does not', () => {
    assert.equal(safeEqual('s3cret', 's3cret'), true);
    assert.equal(safeEqual('', ''), true);
    assert.equal(safeEqual('s3cret', 's3creT'), false);
    assert.equal(safeEqual('s3cret', 'S3cret'), false, 'case-sensitive');
    assert.equal(safeEqual('s3cret ', 's3cret'), false, 'no trimming');
  });

  test('different lengths (including empty and very long) compare without throwing', () => {
    assert.equal(safeEqual('short', 'a much longer key value'), false);
    assert.equal(safeEqual('', 'key'), false);
    assert.equal(safeEqual('k'.repeat(100_000), 'key'), false);
    assert.equal(safeEqual('ключ', 'ключ'), true, 'non-ASCII by UTF-8 bytes');
    assert.equal(safeEqual('ключ', 'клюк'), false);
  });
});

describe('isAuthorised', () => {
  test('empty configured key = open API', () => {
    assert.equal(isAuthorised('', undefined), true);
    assert.equal(isAuthorised('', 'anything'), true);
  });

  test('configured key: header must be present and equal', () => {
    assert.equal(isAuthorised('k', 'k'), true);
    assert.equal(isAuthorised('k', undefined), false);
    assert.equal(isAuthorised('k', ''), false);
    assert.equal(isAuthorised('k', 'K'), false);
    assert.equal(isAuthorised('k', ['k', 'k']), false, 'a repeated header never matches');
  });
});
