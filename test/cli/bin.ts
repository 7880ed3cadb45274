/**
 * Runs the mirrorlens program the way a user does: a child process (the same entry module
 * bin/mirrorlens.js runs, from src/ through tsx), with real stdout/stderr pipes, exit codes and
 * signals. `tty: true` runs it under script(1), on a pseudo-terminal of the given width.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const ENTRY = resolve(ROOT, 'src/cli/entry.ts');

export interface BinResult {
  code: number;
  out: string;
  err: string;
}

export interface BinOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run on a pseudo-terminal (stdout and stderr both go to it: `out` holds both). */
  tty?: { columns: number };
  timeoutMs?: number;
  /** Run this built JavaScript entry (e.g. the CLI bundle) instead of src/cli/entry.ts through tsx. */
  entry?: string;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function runBin(args: readonly string[], o: BinOptions = {}): Promise<BinResult> {
  const env = { ...process.env, NO_COLOR: undefined, CI: 'true', ...o.env } as NodeJS.ProcessEnv;
  let cmd: string;
  let argv: string[];
  const program = o.entry !== undefined ? [o.entry] : ['--import', 'tsx', ENTRY];
  if (o.tty) {
    const inner = [process.execPath, ...program, ...args].map(shellQuote).join(' ');
    cmd = 'script';
    argv = ['-qec', `stty cols ${o.tty.columns} rows 50; ${inner}`, '/dev/null'];
  } else {
    cmd = process.execPath;
    argv = [...program, ...args];
  }
  return new Promise((done, fail) => {
    const child = spawn(cmd, argv, { cwd: o.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (o.tty) out = out.replace(/\r\n/g, '\n');
      done({ code: code ?? (signal ? 128 + 9 : -1), out, err });
    });
  });
}

/** Runs `jobs` with at most `n` at once (each spawns a Node process). */
export async function inBatches<T>(jobs: Array<() => Promise<T>>, n = 3): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}
