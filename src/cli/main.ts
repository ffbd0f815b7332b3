/**
 * `beepbox <command>`: sim, measure, serve. The only place that decides exit codes:
 * 0 success, 2 wrong command line or invalid input (printed with the usage), 1 other failures;
 * `measure` returns 130 when aborted. Help and version never start anything.
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors.js';
import { describeCliError, runMeasureCommand } from './measure.js';
import { MEASURE_HELP, SERVE_HELP, TOP_HELP, UsageError, isParseArgsError, wantsHelp } from './usage.js';

/** `beepbox 0.1.0 (node v20.19.0)`, from the package.json next to dist/. */
function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return `beepbox ${pkg.version ?? 'unknown'} (node ${process.version})`;
}

interface Command {
  /** Prints the command's help (sim prints its own, from the simulator's option table). */
  help(): Promise<void> | void;
  run(argv: string[]): Promise<number>;
}

async function runSim(argv: string[]): Promise<number> {
  const { runSimCommand } = await import('../sim/run-sim.js');
  await runSimCommand(argv);
  return 0;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: {
    help: () => void process.stdout.write(SERVE_HELP),
    run: async (argv) => {
      const { runServeCommand } = await import('./serve.js');
      return runServeCommand(argv);
    },
  },
  sim: {
    help: async () => void (await runSim(['--help'])),
    run: runSim,
  },
  measure: {
    help: () => void process.stdout.write(MEASURE_HELP),
    run: runMeasureCommand,
  },
};

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(TOP_HELP);
    return 2;
  }
  if (first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) await COMMANDS[topic]!.help();
    else process.stdout.write(TOP_HELP);
    return 0;
  }
  if (first === '-V' || first === '--version') {
    process.stdout.write(`${readVersion()}\n`);
    return 0;
  }
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`);
  if (!Object.hasOwn(COMMANDS, first)) throw new UsageError(`unknown command '${first}'`);
  const command = COMMANDS[first]!;
  if (wantsHelp(rest)) {
    await command.help();
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    // The simulator parses its own options; its refusals are usage errors like ours.
    if (isParseArgsError(err)) throw new UsageError(err.message, first);
    throw err;
  }
}

function describeFailure(err: unknown): string {
  return err instanceof UsageError ? err.describe() : `${describeCliError(err)}\n`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(describeFailure(err));
    process.exitCode = err instanceof UsageError || err instanceof ValidationError ? 2 : 1;
  },
);
