/**
 * Runs the mirrorlens CLI in-process with captured stdout/stderr (no TTY, empty environment).
 */
import { PassThrough } from 'node:stream';
import { main } from '../src/cli/main.js';

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(args, { stdout, stderr, env });
  return { code, out, err };
}
