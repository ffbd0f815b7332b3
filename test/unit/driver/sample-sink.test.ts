import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockBuilder, type SampleBlock, type SampleSink } from '../../../src/driver/sample-sink.js';

function recordingSink(withBatches: boolean) {
  const calls: Array<{ kind: 'one' | 'many'; blocks: SampleBlock[] }> = [];
  const sink: SampleSink = {
    onBlock: (b) => calls.push({ kind: 'one', blocks: [b] }),
    onEvent: () => undefined,
  };
  if (withBatches) sink.onBlocks = (blocks) => calls.push({ kind: 'many', blocks });
  return { sink, calls };
}

test('sparse rows (a block each) wait and go out together, in order, each block with its own arrays', () => {
  const { sink, calls } = recordingSink(true);
  const b = new BlockBuilder(sink, 2048, 60_000);
  for (let i = 0; i < 10; i++) b.add(i * 5, i, -i);
  b.maybeFlush();
  assert.equal(calls.length, 0, 'younger than the age limit: nothing sent');
  b.flush();
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.kind, 'many');
  const blocks = calls[0]!.blocks;
  assert.deepEqual(blocks.map((x) => [x.firstIndex, x.count, x.current[0], x.potential[0]]), Array.from({ length: 10 }, (_, i) => [i * 5, 1, i, -i]));
  assert.equal(new Set(blocks.map((x) => x.current.buffer)).size, 10, 'own buffers: each can be transferred');
});

test('a sink without onBlocks gets every block through onBlock; dense rows are one block', () => {
  const { sink, calls } = recordingSink(false);
  const b = new BlockBuilder(sink, 2048, 60_000);
  for (let i = 0; i < 100; i++) b.add(i, i, i);
  b.add(200, 1, 1);
  b.flush();
  assert.deepEqual(calls.map((c) => [c.kind, c.blocks[0]!.firstIndex, c.blocks[0]!.count]), [['one', 0, 100], ['one', 200, 1]]);
});

test('a full block goes out at once; the age limit flushes what waits', () => {
  const { sink, calls } = recordingSink(true);
  const b = new BlockBuilder(sink, 4, 0);
  for (let i = 0; i < 6; i++) b.add(i, i, i);
  assert.deepEqual(calls.map((c) => c.blocks.map((x) => [x.firstIndex, x.count])), [[[0, 4]]]);
  b.maybeFlush();
  assert.deepEqual(calls.map((c) => c.blocks.map((x) => [x.firstIndex, x.count])), [[[0, 4]], [[4, 2]]]);
  b.maybeFlush();
  assert.equal(calls.length, 2, 'nothing waiting: nothing sent');
});
