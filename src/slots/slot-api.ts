/**
 * What crosses the slot-worker thread boundary.
 *
 * | direction | channel | payload |
 * |---|---|---|
 * | main → worker | comlink call | `SlotApi` methods with structured-clone arguments |
 * | worker → main | comlink reply | `DeviceIdentity`, `RunSummary`, errors as `ErrorPayload` (code kept) |
 * | worker → main | `MessagePort` given to `measure` | `SampleMessage`; block arrays are transferred, never copied |
 */
import type { RunSummary } from '../driver/measurement.js';
import type { MessagePort } from 'node:worker_threads';
import type { IntegrityEvent } from '../driver/run-accounting.js';
import type { ModeName, ModeParams } from '../modes/types.js';

export interface DeviceIdentity {
  path: string;
  status: number;
  gxOhm: number;
  /** USB serial-number string derived from the MCU unique ID (12 hex digits), null if unreadable. */
  uid: string | null;
}

export interface MeasureRequest {
  /** The resolved mode. */
  mode: ModeName;
  /** Final parameters from admission (`parseModeParams`): the worker builds the waveform from them and does not re-validate. */
  params: ModeParams;
  /** The plan's point count, when the caller has it: the worker checks its waveform against it. */
  pointCount?: number;
  /** TIA gain index; null leaves the device setting unchanged. */
  tiaGain: number | null;
  galPollIntervalMs?: number;
  /**
   * The previous mode of the slot's sequence left the cell under control (idle, CE closed,
   * holding its last potential): the worker skips the open-circuit reset when the device confirms it.
   */
  linked?: boolean;
  /** Another mode follows in the slot's sequence: keep the cell under control after this mode (not for OCP). */
  keepControl?: boolean;
}

/** One block of rows for plan indices [firstIndex, firstIndex + count). */
export interface SampleBlockMessage {
  kind: 'block';
  /** Sequence number of the message, from 0, so the receiver can prove none is missing. */
  seq: number;
  firstIndex: number;
  count: number;
  current: Float32Array;
  potential: Float32Array;
}
/**
 * Several blocks in one message (sparse rows, e.g. galvanostatic polls: a block per row), each
 * with its own arrays (transferred); the receiver handles them as consecutive 'block' messages.
 */
export interface SampleBlocksMessage {
  kind: 'blocks';
  seq: number;
  blocks: Array<{ firstIndex: number; count: number; current: Float32Array; potential: Float32Array }>;
}
export interface SampleEventMessage {
  kind: 'event';
  seq: number;
  event: IntegrityEvent;
}
export interface SampleProgressMessage {
  kind: 'progress';
  seq: number;
  pointsDone: number;
}
export type SampleMessage = SampleBlockMessage | SampleBlocksMessage | SampleEventMessage | SampleProgressMessage;

/** The watchdog's view of a worker thread. */
export interface SlotHealth {
  /** Why the thread stopped being usable (an uncaught failure), or null. */
  fatal: string | null;
  measuring: boolean;
}

/** What a slot worker thread is started with. */
export interface SlotWorkerData {
  portPath: string;
  /** The {@link NativeCallGate} cell shared with the supervisor. */
  nativeGate: SharedArrayBuffer;
}

export interface SlotApi {
  /** Answered at once by a live thread (the supervisor's watchdog). */
  ping(): Promise<SlotHealth>;
  /** Opens the port (if needed) and reads the device state. */
  connect(): Promise<DeviceIdentity>;
  /** Runs one measurement; rows stream through `samples` while it runs. */
  measure(request: MeasureRequest, samples: MessagePort): Promise<RunSummary>;
  /** Aborts the running measurement (if any): switch off, stop, keep the partial data. */
  abort(): Promise<void>;
  /** Opens the CE switch when no measurement runs (ends a held cell: sequence cancelled or failed between modes). */
  releaseCell(): Promise<void>;
  /** Aborts a running measurement, waits for an open in flight, closes the port; final. */
  close(): Promise<void>;
}
