/**
 * Help texts of `beepbox` and its commands, and the usage error (exit code 2). Options are
 * parsed with node:util `parseArgs` (strict: an unknown option or a missing value is an error).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const TOP_HELP = `usage: beepbox <command> [options]
       beepbox --help | --version

commands:
  serve      start the HTTP daemon (configured by environment variables)
  sim        run virtual potentiostats on ptys until stopped
  measure    run one measurement to a CSV file, then print a JSON summary

options:
  -h, --help      show this help; 'beepbox <command> --help' shows a command's options
  -V, --version   print the version and exit
`;

export const SERVE_HELP = `usage: beepbox serve

Starts the HTTP daemon and runs until SIGINT or SIGTERM. Configured by environment variables:
  PORT=8000              TCP port
  HOST=127.0.0.1         listen address; any non-loopback address requires BOX_API_KEY
  BOX_API_KEY            key clients send in the X-API-Key header (empty: no key, loopback only)
  RUNS_ROOT=/opt/box/runs  where runs are written
  BEEP_SIMULATE=N        attach N virtual potentiostats (0 = none)
  BEEP_PORTS             extra device paths or globs, comma-separated
  LOG_LEVEL=info         pino log level
See README.md for the others (NAS, HTTP limits, plots, free-space floor).

options:
  -h, --help   show this help and exit (nothing is started)
`;

export const MEASURE_HELP = `usage: beepbox measure (--port PATH | --simulate) --mode MODE --params JSON --out FILE.csv
                       [--tia-gain G] [--sampling-interval S] [--gal-poll-ms MS] [--force] [--no-progress]

Runs one measurement and writes its CSV (and the EIS spectrum or CDL table beside it), then prints
one JSON line with the counters (points, expected_points, lost, dac_underruns, adc_overflows, ...).
On a terminal a progress bar with the time left is drawn on stderr; when stdout or stderr is not a
terminal (a pipe, a file, CI) nothing but warnings and the summary is printed.

options:
  --port PATH              serial device of the potentiostat (e.g. /dev/ttyACM0)
  --simulate               use one virtual potentiostat instead
  --mode MODE              CA, LSV, CV, PSTEP, OCP, CP, GS, GCV, STEPSEQ, EIS or CDL
  --params JSON            the mode's parameters, e.g. '{"potential":0.1,"duration":2}'
  --out FILE.csv           output file; refused if it exists, unless --force
  --tia-gain G             current range 0..3 (default 0)
  --sampling-interval S    write one row per S seconds (default: every point)
  --gal-poll-ms MS         poll period of galvanostatic modes (default 2)
  --force                  overwrite --out
  --no-progress            never draw the progress bar
  -h, --help               show this help and exit

exit status: 0 done, 2 invalid arguments, 130 aborted (SIGINT/SIGTERM), 1 other failures
`;

/** One-line synopsis per command, repeated after a usage error. */
export const SYNOPSIS: Readonly<Record<string, string>> = {
  serve: 'usage: beepbox serve',
  sim: 'usage: beepbox sim --slots N [--dir DIR] [options]',
  measure: 'usage: beepbox measure (--port PATH | --simulate) --mode MODE --params JSON --out FILE.csv [options]',
};

/** Wrong command line: printed with the usage (the command's synopsis, else the top help), exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose line was wrong; undefined = the top level. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }

  /** What the user sees on stderr. */
  describe(): string {
    const synopsis = this.command === undefined ? undefined : SYNOPSIS[this.command];
    if (synopsis === undefined) return `beepbox: ${this.message}\n${TOP_HELP}`;
    return `beepbox ${this.command}: ${this.message}\n${synopsis}\nTry 'beepbox ${this.command} --help' for the options.\n`;
  }
}

/** Whether node:util parseArgs refused the command line (unknown option, missing value, positional). */
export function isParseArgsError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Whether the arguments ask for help (before a `--` terminator). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '-h' || arg === '--help') return true;
  }
  return false;
}

/** Strict `parseArgs` whose refusals become a {@link UsageError} with the command's synopsis. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    if (isParseArgsError(err)) throw new UsageError(err.message, command);
    throw err;
  }
}
