/**
 * Bench runner: `npm run bench -- <name> [options]` runs bench/<name>.bench.ts, whose
 * `run(argv)` returns figures; `--json FILE` writes them with the machine description.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem, release, platform } from 'node:os';

export interface BenchModule {
  run(argv: string[]): Promise<object>;
}

export function describeMachine(): Record<string, unknown> {
  const c = cpus();
  return {
    date: new Date().toISOString(),
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name) {
    process.stderr.write('usage: npm run bench -- <name> [options] [--json FILE]\n');
    process.exitCode = 2;
    return;
  }
  const jsonAt = rest.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? rest[jsonAt + 1] : undefined;
  const args = jsonAt >= 0 ? [...rest.slice(0, jsonAt), ...rest.slice(jsonAt + 2)] : rest;
  const mod = (await import(`./${name}.bench.js`)) as BenchModule;
  const figures = await mod.run(args);
  const result = { bench: name, machine: describeMachine(), figures };
  if (jsonFile) await writeFile(jsonFile, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
