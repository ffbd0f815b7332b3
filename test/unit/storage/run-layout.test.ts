import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { DaemonError } from '../../../src/errors.js';
import { computeRunLayout, toIndexPath, toRunRelative } from '../../../src/storage/run-layout.js';

const ROOT = '/opt/box/runs';
const EXAMPLE = { experiment_name: 'Demo', subdir: 'BatchA', client_datetime: '2025-11-03T10:15:31Z' };

test('layout of the rest-api 6.1 example', () => {
  const layout = computeRunLayout(ROOT, EXAMPLE);
  assert.equal(layout.runDir, '/opt/box/runs/Demo/BatchA/2025-11-03T10-15-31Z');
  assert.equal(layout.runDirRelative, 'Demo/BatchA/2025-11-03T10-15-31Z');
  assert.equal(layout.names.prefix, 'Demo_BatchA_2025-11-03_10-15-31Z');
  assert.equal(layout.modeDir('slot01', 'CV'), 'Wells/slot01/CV/');
  assert.equal(layout.slotDir('slot01'), 'Wells/slot01/');
  const cv = layout.modeFiles('slot01', 'CV');
  assert.equal(cv.dir, join(layout.runDir, 'Wells', 'slot01', 'CV'));
  assert.equal(cv.csv, join(layout.runDir, 'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.csv'));
  assert.equal(cv.png, join(layout.runDir, 'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.png'));
  assert.equal(cv.spectrumCsv, null);
  assert.equal(cv.bodePng, null);
  assert.equal(cv.cdlCsv, null);
  assert.deepEqual(cv.allRelative, [
    'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.csv',
    'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.png',
  ]);
  assert.equal(toRunRelative(layout.runDir, cv.csv), cv.allRelative[0]);
  assert.equal(layout.toAbsolute(cv.allRelative[0] as string), cv.csv);
});

test('EIS and CDL extras; subfolder omitted when blank; folder_name alias', () => {
  const layout = computeRunLayout(ROOT, { experiment_name: 'Exp 1', subdir: ' ', client_datetime: '2025-11-03 10:15:31' });
  assert.equal(layout.runDirRelative, 'Exp_1/2025-11-03_10-15-31');
  assert.equal(layout.names.prefix, 'Exp_1_2025-11-03_10-15-31');
  const eis = layout.modeFiles('slot02', 'EIS');
  assert.equal(eis.spectrumCsv, join(layout.runDir, 'Wells/slot02/EIS/Exp_1_2025-11-03_10-15-31_slot02_EIS_spectrum.csv'));
  assert.equal(eis.bodePng, join(layout.runDir, 'Wells/slot02/EIS/Exp_1_2025-11-03_10-15-31_slot02_EIS_bode.png'));
  assert.equal(eis.allRelative.length, 4);
  const cdl = layout.modeFiles('slot02', 'CDL');
  assert.equal(cdl.cdlCsv, join(layout.runDir, 'Wells/slot02/CDL/Exp_1_2025-11-03_10-15-31_slot02_CDL_cdl.csv'));
  const alias = computeRunLayout(ROOT, { experiment_name: 'E', subdir: null, folder_name: 'Legacy Folder', client_datetime: 't' });
  assert.equal(alias.runDirRelative, 'E/Legacy_Folder/t');
  assert.equal(alias.names.prefix, 'E_Legacy_Folder_t');
});

test('file names above 255 bytes are refused when the job scope is given', () => {
  // prefix = 200 + 1 + 1 = 202 chars; + "_slot01_EIS_spectrum.csv" (24) = 226: fits.
  const request = { experiment_name: 'e'.repeat(200), client_datetime: 't' };
  computeRunLayout(ROOT, request, { slots: ['slot01'], modes: ['EIS'] });
  // 230-char experiment: CV file = 232 + 14 = 246 fits; EIS spectrum = 232 + 24 = 256 does not.
  const longer = { experiment_name: 'e'.repeat(230), client_datetime: 't' };
  computeRunLayout(ROOT, longer, { slots: ['slot01'], modes: ['CV'] });
  assert.throws(
    () => computeRunLayout(ROOT, longer, { slots: ['slot01'], modes: ['CV', 'EIS'] }),
    (err: unknown) => err instanceof DaemonError && err.code === 'storage.invalid_name' && err.message === 'names too long',
  );
  // Without a scope only directory names are checked.
  computeRunLayout(ROOT, longer);
});

test('run index paths: relative with / inside RUNS_ROOT, absolute outside', () => {
  assert.equal(toIndexPath(ROOT, '/opt/box/runs/Demo/BatchA/ts'), 'Demo/BatchA/ts');
  assert.equal(toIndexPath(ROOT, '/srv/elsewhere/run'), '/srv/elsewhere/run');
  assert.equal(toIndexPath(ROOT, '/opt/box/runs-other/x'), '/opt/box/runs-other/x');
  assert.equal(toIndexPath(ROOT, '/opt/box'), '/opt/box');
});
