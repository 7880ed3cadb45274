/**
 * The CLI target: mutated captures, key logs and access logs given to `mirrorlens` commands as a
 * user runs them (a child process per run: bin/mirrorlens.js, so the build under test is the one
 * `npm install` made), in every output format. A run fails when the process crashes or prints a
 * stack trace, runs past the time limit (a hang), needs more memory than
 * the limit, exits with a code src/cli/exit.ts does not give bad input (70: internal error),
 * prints a run of 16 hex digits from the key log (a client random seen on the wire aside), prints JSON that does not parse, text that could drive a terminal, or HTML with the
 * planted markup unescaped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT } from '../src/cli/exit.js';
import type { Corpus } from './corpus.js';
import { KEYLOG_CORRUPTIONS, keyLogTexts } from './keylog-corrupt.js';
import { HOSTILE_TOKENS, mutateBytes, mutateText, type Rng } from './mutate.js';
import { badJsonLine, controlByteAt, findLeak, parsesAsJson, secretWindows, unescapedMarkup, withoutCarried } from './oracle.js';
import { plaintextOf } from './plaintext.js';
import type { FuzzInput } from './targets.js';

const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin/mirrorlens.js');
const TIME = '/usr/bin/time';

/** Output formats each command is run in: [extra arguments, what stdout is]. */
const COMMANDS: Record<string, [string[], 'text' | 'jsonl' | 'json' | 'html'][]> = {
  read: [[[], 'text'], [['--json'], 'jsonl']],
  conns: [[[], 'text'], [['--json', '--events'], 'jsonl']],
  tls: [[[], 'text'], [['--json'], 'jsonl']],
  http: [[[], 'text'], [['--json'], 'jsonl']],
  follow: [[[], 'text'], [['--hex'], 'text']],
  analyze: [[[], 'text'], [['--format', 'json', '--all'], 'json'], [['--format', 'html', '--all'], 'html']],
  logs: [[[], 'text'], [['--json'], 'json']],
};

/** Exit codes a run may end with (src/cli/exit.ts): any but "internal error" and "interrupted". */
const EXPECTED_EXITS: ReadonlySet<number> = new Set(Object.values(EXIT).filter((c) => c !== EXIT.internal && c !== EXIT.interrupted));

export interface CliRunLimits {
  timeoutMs: number;
  memoryMiB: number;
}

/** Makes one CLI run: the command, its format, and mutated inputs. */
export function makeCliInput(corpus: Corpus, rng: Rng): FuzzInput {
  const command = rng.pick(Object.keys(COMMANDS));
  const formats = COMMANDS[command]!;
  const format = rng.int(formats.length);
  const c = rng.pick(corpus.captures);
  const files: Record<string, Uint8Array> = {};
  files['capture.pcapng'] = rng.chance(0.85) ? mutateBytes(c.bytes, rng, [rng.pick(corpus.captures).bytes], 3) : c.bytes;
  const keyText = c.keylog ?? rng.pick(corpus.keylogs).text;
  let keys: Uint8Array = rng.chance(0.4) ? rng.pick(KEYLOG_CORRUPTIONS).apply(keyText, 1 / 16) : Buffer.from(keyText, 'latin1');
  if (rng.chance(0.4)) keys = mutateText(Buffer.from(keys).toString('latin1'), rng);
  files['keys.log'] = keys;
  const log = rng.pick(corpus.logs);
  const hostile = Array.from({ length: 2 }, () => log.text.split('\n').find((l) => l && !l.startsWith('#'))?.replace(/"[^"]*"/, `"${rng.pick(HOSTILE_TOKENS)}"`) ?? '');
  files['access.log'] = mutateText([log.text, ...hostile].join('\n'), rng);
  const uid = corpus.streams.find((s) => s.name.startsWith(`${c.name}#`))?.name.split('#')[1] ?? 'Cnone';
  return { files, meta: { command, format, uid, seed: c.name, logKind: log.kind } };
}

/** The command line of a run, relative to the directory holding its input files. */
export function cliArgs(input: FuzzInput): string[] {
  const m = input.meta as { command: string; format: number; uid: string; logKind: string };
  const [extra] = COMMANDS[m.command]![m.format]!;
  switch (m.command) {
    case 'read':
    case 'conns':
      return [m.command, 'capture.pcapng', ...extra];
    case 'tls':
    case 'http':
      return [m.command, 'capture.pcapng', '--keylog', 'keys.log', ...extra];
    case 'follow':
      return ['follow', 'capture.pcapng', '--conn', m.uid, '--keylog', 'keys.log', ...extra];
    case 'analyze':
      return ['analyze', 'capture.pcapng', '--keylog', 'keys.log', m.logKind === 'flow' ? '--flow-log' : m.logKind === 'nlb' ? '--nlb-log' : '--alb-log', 'access.log', ...extra];
    default:
      return ['logs', 'access.log', ...extra];
  }
}

export interface CliVerdict {
  kind: 'crash' | 'hang' | 'memory' | 'leak' | 'output';
  message: string;
}

/** Runs one input in `dir` (its files written there); null when it passed. */
export function runCliInput(input: FuzzInput, dir: string, limits: CliRunLimits): CliVerdict | null {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(input.files)) writeFileSync(join(dir, name), bytes);
  const args = cliArgs(input);
  const m = input.meta as { command: string; format: number };
  const what = COMMANDS[m.command]![m.format]![1];
  const node = [process.execPath, `--max-old-space-size=${limits.memoryMiB}`, BIN, ...args];
  const wrapped = existsSync(TIME) ? [TIME, '-f', 'mlfuzz-rss-kb %M', ...node] : node;
  const r = spawnSync(wrapped[0]!, wrapped.slice(1), { cwd: dir, encoding: 'utf8', timeout: limits.timeoutMs, maxBuffer: 256 << 20, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' } });
  const line = `mirrorlens ${args.join(' ')}`;
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { kind: 'hang', message: `${line}: still running after ${limits.timeoutMs} ms` };
  if (r.error) return { kind: 'crash', message: `${line}: ${r.error.message}` };
  let stderr = r.stderr;
  const rss = /mlfuzz-rss-kb (\d+)\s*$/.exec(stderr);
  if (rss) stderr = stderr.slice(0, rss.index);
  const stdout = r.stdout;
  if (/heap out of memory|Reached heap limit/i.test(stderr)) return { kind: 'memory', message: `${line}: out of memory (limit ${limits.memoryMiB} MiB)` };
  if (rss && Number(rss[1]) / 1024 > limits.memoryMiB * 1.5) return { kind: 'memory', message: `${line}: peak RSS ${(Number(rss[1]) / 1024).toFixed(0)} MiB` };
  // GNU time reports a signal as "Command terminated by signal N" / a non-zero status on its own line.
  const signalled = r.signal !== null || /Command terminated by signal/.test(stderr);
  stderr = stderr.replace(/^Command (exited with non-zero status \d+|terminated by signal \d+)\n?/m, '');
  if (signalled || r.status === null || !EXPECTED_EXITS.has(r.status)) return { kind: 'crash', message: `${line}: exit ${r.status ?? r.signal}: ${stderr.slice(-400)}` };
  if (/internal error|\n\s+at .+:\d+:\d+\)?\n/.test(`\n${stderr}`)) return { kind: 'crash', message: `${line}: a stack trace or internal error: ${stderr.slice(0, 400)}` };
  if (r.status !== 0 && stderr.trim() === '') return { kind: 'output', message: `${line}: exit ${r.status} with nothing on stderr` };
  const keys = input.files['keys.log']!;
  const pub: string[] = [];
  const cap = Buffer.from(input.files['capture.pcapng']!);
  for (const t of keyLogTexts(keys)) for (const x of t.matchAll(/[0-9a-fA-F]{64}/g)) if (cap.indexOf(Buffer.from(x[0], 'hex')) >= 0) pub.push(x[0]);
  // `tls --json` prints each connection's ClientHello randoms: the capture's bytes, not the key log's.
  const printed = stdout.replace(/"clientRandom":"[0-9a-f]*"|"clientRandoms":\[[^\]]*\]/g, '');
  const secrets = secretWindows(keyLogTexts(keys), pub);
  let leak = findLeak(`${printed}\n${stderr}`, secrets);
  // Before calling it a leak: does the traffic itself carry it (follow and http print it)?
  if (leak) leak = findLeak(`${printed}\n${stderr}`, withoutCarried(secrets, plaintextOf(cap, keys)));
  if (leak) return { kind: 'leak', message: `${line}: prints 16+ hex digits of the key log at ${leak.context}` };
  if (r.status === 0) {
    if (what === 'jsonl') {
      const bad = badJsonLine(stdout);
      if (bad !== null) return { kind: 'output', message: `${line}: a JSON line does not parse: ${JSON.stringify(bad)}` };
    } else if (what === 'json' && !parsesAsJson(stdout)) return { kind: 'output', message: `${line}: the JSON report does not parse` };
    else if (what === 'html') {
      const mk = unescapedMarkup(stdout);
      if (mk !== null) return { kind: 'output', message: `${line}: the HTML report holds ${mk} unescaped` };
    }
  }
  for (const [name, out] of [['stdout', what === 'text' ? stdout : ''], ['stderr', stderr]] as const) {
    const at = controlByteAt(out);
    if (at >= 0) return { kind: 'output', message: `${line}: ${name} holds control byte 0x${out.charCodeAt(at).toString(16)}: ${JSON.stringify(out.slice(Math.max(0, at - 40), at + 10))}` };
  }
  return null;
}
