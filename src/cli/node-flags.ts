/**
 * Node and V8 flags the daemon and its simulator processes run with.
 *
 * - `--expose-gc`: the streamed ZIP runs a minor GC every few MiB on its pool thread, so
 *   transferred chunk buffers are released promptly and RSS stays bounded (storage/zip-stream.ts).
 * - `--single-threaded-gc`: every slot is a small isolate that works in short bursts. V8's default
 *   hands marking, scavenging and sweeping to helper threads; on a 2-core box with one isolate per
 *   slot, waking and synchronising those helpers costs more than the work they take over. Measured
 *   at 16 full-rate CV slots, it halves the CPU spent outside the named threads and lowers the
 *   supervisor's cost per slot (README, performance).
 *
 * V8 flags are process-wide and fixed once the isolate runs (setting `--single-threaded-gc` from
 * `v8.setFlagsFromString` aborts V8), so they go on the command line of every launcher: npm start,
 * bin/beepbox.js, docs/deploy/beepbox.service, the daemon's own simulator child, the benches and
 * the tests. test/unit/cli/node-flags.test.ts checks that the text launchers say the same.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--expose-gc', '--single-threaded-gc'];

/** The flags of DAEMON_NODE_FLAGS this process was started without (empty when all are set). */
export function missingDaemonNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return DAEMON_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
