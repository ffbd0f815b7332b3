/** `beepbox <command>`: sim, measure, serve. The only place that decides exit codes. */
import { ValidationError } from '../errors.js';
import { describeCliError, runMeasureCommand } from './measure.js';

const HELP = `usage: beepbox <command> [options]

commands:
  serve                      start the HTTP daemon (env: PORT, HOST, BEEP_SIMULATE=N, BEEP_PORTS, RUNS_ROOT, ...)
  sim --slots N [--dir DIR] [--interval-us US]
                             run N virtual potentiostats as ttys DIR/ttyBEEP1..N until SIGINT/SIGTERM
  measure (--port PATH | --simulate) --mode MODE --params JSON [--tia-gain G]
          [--sampling-interval S] --out FILE.csv
                             one measurement to CSV, then a JSON summary line
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'sim': {
      const { runSimCommand } = await import('../sim/run-sim.js');
      await runSimCommand(rest);
      return 0;
    }
    case 'measure':
      return runMeasureCommand(rest);
    case 'serve': {
      const { runServeCommand } = await import('./serve.js');
      return runServeCommand(rest);
    }
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    default:
      throw new ValidationError('command', `unknown command '${command}'\n${HELP}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(describeCliError(err) + '\n');
    process.exitCode = err instanceof ValidationError ? 2 : 1;
  },
);
