/**
 * Messages between the supervisor and the recorder thread (one port, so rows and the
 * close request of a file stay in order).
 *
 * | direction | message | notes |
 * |---|---|---|
 * | → | open {id, spec} | creates the CSV file |
 * | → | rows {id, firstIndex, count, current, potential} | arrays transferred |
 * | → | close {id, options} | flush, fsync, post-analysis (EIS/CDL; EIS uses the measured sample period) |
 * | ← | opened / closed {id, result} / failed {id, message} | |
 */
import type { RecordingCloseOptions, RecordingResult, RecordingSpec } from './mode-recorder.js';

export type RecorderRequest =
  | { kind: 'open'; id: number; spec: RecordingSpec }
  | { kind: 'rows'; id: number; firstIndex: number; count: number; current: Float32Array; potential: Float32Array }
  | { kind: 'close'; id: number; options?: RecordingCloseOptions };

export type RecorderReply =
  | { kind: 'opened'; id: number }
  | { kind: 'closed'; id: number; result: RecordingResult }
  | { kind: 'failed'; id: number; message: string };
