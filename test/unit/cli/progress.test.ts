import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createProgressReporter, estimateRemainingS, formatDuration, formatProgressLine } from '../../../src/cli/progress.js';

/** A stream double that records what was written. */
function sink(isTTY: boolean, columns = 80): { isTTY: boolean; columns: number; text: string; write(t: string): boolean } {
  return {
    isTTY,
    columns,
    text: '',
    write(t: string) {
      this.text += t;
      return true;
    },
  };
}

describe('progress line', () => {
  test('bar, percentage, counts and ETA fit the terminal width', () => {
    const line = formatProgressLine('CV', 5000, 10000, 12.4, 80);
    assert.equal(line, `CV [${'#'.repeat(20)}${'-'.repeat(20)}]  50%  5000/10000  ETA 0:12`);
    assert.ok(line.length <= 79);
    const narrow = formatProgressLine('CV', 5000, 10000, 12.4, 50);
    assert.ok(narrow.length <= 49, narrow);
    assert.match(narrow, /^CV \[#+-+\]  50%/);
    assert.equal(formatProgressLine('CV', 1, 10, null, 80).endsWith('ETA --:--'), true);
    // Too narrow for a bar: the numbers only, cut to the width.
    assert.equal(formatProgressLine('CV', 5, 10, 3, 30), 'CV  50%  5/10  ETA 0:03');
    assert.equal(formatProgressLine('CV', 20, 10, 0, 80).includes('100%'), true, 'clamped');
  });

  test('ETA from the rate so far; durations as m:ss or h:mm:ss', () => {
    assert.equal(estimateRemainingS(0, 100, 5), null);
    assert.equal(estimateRemainingS(25, 100, 5), 15);
    assert.equal(estimateRemainingS(120, 100, 5), 0);
    assert.deepEqual([formatDuration(7), formatDuration(750), formatDuration(3723), formatDuration(-1)], ['0:07', '12:30', '1:02:03', '0:00']);
  });
});

describe('progress reporter', () => {
  test('draws on stderr only when stdout and stderr are terminals, and clears its line at the end', () => {
    const stderr = sink(true);
    const bar = createProgressReporter('CA', 100, { enabled: true, stdout: sink(true), stderr });
    bar.update(10);
    bar.note('warning: x');
    bar.update(100);
    bar.finish();
    assert.match(stderr.text, /CA \[#*-*\]\s+10%  10\/100/);
    assert.ok(stderr.text.includes('\r\u001b[2Kwarning: x\n'), 'the bar is erased before the warning');
    assert.ok(stderr.text.endsWith('\r\x1b[2K'), 'line cleared for the summary');
  });

  for (const [name, stdoutTTY, stderrTTY, enabled] of [
    ['stdout piped', false, true, true],
    ['stderr piped', true, false, true],
    ['--no-progress', true, true, false],
  ] as const) {
    test(`quiet when ${name}: warnings only, no control characters`, () => {
      const stderr = sink(stderrTTY);
      const bar = createProgressReporter('CA', 100, { enabled, stdout: sink(stdoutTTY), stderr });
      bar.update(50);
      bar.note('warning: x');
      bar.update(100);
      bar.finish();
      assert.equal(stderr.text, 'warning: x\n');
    });
  }
});
