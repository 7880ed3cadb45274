/**
 * The shape every subcommand module in src/cli/ exports. Kept tiny so that each command lives in
 * its own file (read.ts, listen.ts, conns.ts, ...) and main.ts only dispatches.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Environment (for NO_COLOR etc.); tests pass their own. */
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** One line for `mirrorlens --help`. */
  summary: string;
  /** Full usage text for `mirrorlens CMD --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. Throws MirrorlensError for user errors. */
  run(argv: string[], io: CliIO): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with errors turned into one clear usage line (MirrorlensError ML_USAGE).
 */
export function parseCommandArgs<O extends Options>(
  cmd: string,
  argv: string[],
  options: O,
): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | (string | boolean)[] | undefined>, positionals: r.positionals };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new MirrorlensError(ErrorCode.Usage, `${cmd}: ${msg} (see 'mirrorlens ${cmd} --help')`);
  }
}

/** Parses a non-negative number option, with a usage error naming the option. */
export function numberOption(cmd: string, name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new MirrorlensError(ErrorCode.Usage, `${cmd}: --${name} wants a non-negative number, got '${value}'`);
  }
  return n;
}
