/**
 * The shape every subcommand module in src/cli/ exports, and the argument conventions they all
 * share (docs/cli.md), so that a new command gets them by using parseCommandArgs:
 * - getopt_long-style parsing: `--name VALUE`, `--name=VALUE`, `-x VALUE`, `-xVALUE`, bundled
 *   boolean short options (`-jq`), `--` ends the options, `-` alone is an argument (stdin). A
 *   string option takes the next argument whatever it looks like (`--since -2h`, `--max-skew -5`).
 * - One set of short options for every command (SHORT_OPTIONS): `-o` out, `-k` keylog, `-j`
 *   json, `-f` filter, `-c` count, `-S` since, `-U` until, `-q` quiet, `-r` read (a capture).
 * - An unknown option is one usage line with the nearest known option ("did you mean --alb-log?").
 * - Errors are MirrorlensErrors; main.ts turns them into one line and the exit code of exit.ts.
 */
import { incidentFromOptions, type Incident } from '../capture/incident.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Environment (for NO_COLOR etc.); tests pass their own. */
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** One line for `mirrorlens --help`. */
  summary: string;
  /** Full usage text for `mirrorlens CMD --help` (at most 80 columns a line). */
  usage: string;
  /** Runs the command; resolves to the process exit code. Throws MirrorlensError for user errors. */
  run(argv: string[], io: CliIO): Promise<number>;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** One-letter alias; options named in SHORT_OPTIONS get theirs without saying so. */
  short?: string;
}

export type Options = Record<string, OptionSpec>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** The short option every command uses for a long option of this name (when it has one). */
export const SHORT_OPTIONS: Readonly<Record<string, string>> = {
  out: 'o',
  keylog: 'k',
  json: 'j',
  filter: 'f',
  count: 'c',
  since: 'S',
  until: 'U',
  quiet: 'q',
  read: 'r',
};

/** Options every command accepts (handled by main.ts, listed here so they are never "unknown"). */
const GLOBAL: Options = { help: { type: 'boolean', short: 'h' } };

function usage(cmd: string, message: string): MirrorlensError {
  return new MirrorlensError(ErrorCode.Usage, `${message} (see 'mirrorlens ${cmd} --help')`);
}

/** Edit distance with transpositions (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate nearest to `word` if it is near enough to be a likely typo, else null. */
export function nearest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    let d = editDistance(word, c);
    if (c.startsWith(word) || word.startsWith(c)) d = Math.min(d, 1); // --keylogs, --key
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return best !== null && bestD <= limit ? best : null;
}

/**
 * Parses a command's arguments (conventions in the module comment). `values` holds only the
 * options given (arrays for `multiple`), `positionals` the rest in order.
 */
export function parseCommandArgs(cmd: string, argv: readonly string[], options: Options): { values: OptionValues; positionals: string[] } {
  const all: Options = { ...GLOBAL, ...options };
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(all)) {
    const s = spec.short ?? SHORT_OPTIONS[name];
    if (s !== undefined && !byShort.has(s)) byShort.set(s, name);
  }
  const values: OptionValues = {};
  const positionals: string[] = [];
  const set = (name: string, v: string | boolean): void => {
    const spec = all[name]!;
    if (spec.multiple) ((values[name] ??= []) as (string | boolean)[]).push(v);
    else values[name] = v; // the last one wins, as with getopt tools
  };
  const unknown = (shown: string, name: string): MirrorlensError => {
    const guess = nearest(name, Object.keys(all));
    return usage(cmd, `unknown option '${shown}'${guess !== null ? ` (did you mean --${guess}?)` : ''}`);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = all[name];
      if (spec === undefined) throw unknown(eq < 0 ? a : a.slice(0, eq), name);
      if (spec.type === 'boolean') {
        if (eq >= 0) throw usage(cmd, `option '--${name}' takes no value`);
        set(name, true);
      } else if (eq >= 0) {
        set(name, a.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw usage(cmd, `option '--${name}' needs a value`);
        set(name, argv[++i]!);
      }
      continue;
    }
    if (a.length > 1 && a[0] === '-') {
      for (let j = 1; j < a.length; j++) {
        const name = byShort.get(a[j]!);
        if (name === undefined) {
          // A negative number where an argument was expected reads better as that.
          if (j === 1 && /^-\d/.test(a)) throw usage(cmd, `unexpected argument '${a}'`);
          throw usage(cmd, `unknown option '-${a[j]}'${j > 1 ? ` in '${a}'` : ''}`);
        }
        if (all[name]!.type === 'boolean') {
          set(name, true);
          continue;
        }
        if (j + 1 < a.length) set(name, a.slice(j + 1));
        else if (i + 1 < argv.length) set(name, argv[++i]!);
        else throw usage(cmd, `option '-${a[j]}' (--${name}) needs a value`);
        break;
      }
      continue;
    }
    positionals.push(a);
  }
  return { values, positionals };
}

/** Parses a non-negative number option, with a usage error naming the option. */
export function numberOption(cmd: string, name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw usage(cmd, `--${name} wants a number of 0 or more, got '${value}'`);
  }
  return n;
}

/** A string option restricted to a set of words. */
export function choiceOption<T extends string>(cmd: string, name: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  const guess = nearest(value, choices);
  throw usage(cmd, `--${name} wants ${choices.join(', ')}; got '${value}'${guess !== null ? ` (did you mean ${guess}?)` : ''}`);
}

/** The incident-window options (`--since`, `--until`, `--around`, `--trace-id`, `--client`), for commands that take them. */
export const INCIDENT_OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  around: { type: 'string' },
  'trace-id': { type: 'string' },
  client: { type: 'string' },
} as const satisfies Options;

/** Help lines for INCIDENT_OPTIONS (80 columns), to put in a command's usage text. */
export const INCIDENT_HELP = `Incident window (records outside it are skipped as early as possible):
  -S, --since TIME     from TIME: 2024-05-01T12:03:17Z (as in the access logs;
                       no offset = UTC), epoch seconds, or now-2h
  -U, --until TIME     up to TIME (same forms)
      --around TIME[±DURATION]
                       TIME-DURATION .. TIME+DURATION (default ±60s); +- for ±
      --trace-id ID    only this X-Amzn-Trace-Id (Root=1-...); alone, it also sets
                       the window from the time inside the id
      --client IP[:PORT]  only this client (an address, IP:PORT or CIDR)`;

/** The incident the options describe, or null; a bad value is a usage error naming its option. */
export function incidentOption(cmd: string, values: OptionValues): Incident | null {
  try {
    return incidentFromOptions({
      since: values.since as string | undefined,
      until: values.until as string | undefined,
      around: values.around as string | undefined,
      client: values.client as string | undefined,
      traceId: values['trace-id'] as string | undefined,
    });
  } catch (e) {
    throw usage(cmd, (e as Error).message);
  }
}

/** Captures named as arguments and with `-r/--read FILE` (tshark's spelling), in the order given. */
export function captureArgs(values: OptionValues, positionals: string[]): string[] {
  return [...((values.read as string[] | undefined) ?? []), ...positionals];
}
