/**
 * Where the lab finds its assets (lab/ at the repo root) and how it runs mirrorlens itself as a
 * child process (listen, analyze), from src/ through tsx or from dist/.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

// src/lab/ and dist/lab/ are both two levels below the package root.
export const PACKAGE_ROOT = resolve(import.meta.dirname, '../..');
export const LAB_ASSETS = resolve(PACKAGE_ROOT, 'lab');
export const TARGET_SERVER = resolve(LAB_ASSETS, 'target-server.mjs');
export const LOAD_CLIENT = resolve(LAB_ASSETS, 'load-client.mjs');
export const H2_CLIENT = resolve(LAB_ASSETS, 'h2-client.mjs');

const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * argv (after the node binary) that runs `mirrorlens ARGS...` the way this process runs. The lab
 * runs mirrorlens as a program, like nginx and curl: by the path of the CLI's entry, never by
 * importing the CLI.
 */
export function mirrorlensArgv(args: readonly string[]): string[] {
  if (RUNNING_FROM_SOURCE) return ['--import', 'tsx', resolve(PACKAGE_ROOT, 'src/cli/entry.ts'), ...args];
  const entry = resolve(PACKAGE_ROOT, 'dist/cli/entry.js');
  return [existsSync(entry) ? entry : resolve(PACKAGE_ROOT, 'bin/mirrorlens.js'), ...args];
}
