/**
 * mirrorlens CLI dispatcher. Each subcommand is a module loaded only when used (fast start).
 */
import type { CliIO, Command } from './command.js';
import { nearest } from './command.js';
import { EXIT, exitCodeFor } from './exit.js';
import { wrapHanging, wrapHelp } from './terminal.js';
import { fileProblem } from '../capture/inputs.js';
import { isMirrorlensError, type MirrorlensError } from '../wire/errors.js';

interface Entry {
  summary: string;
  load: () => Promise<Command>;
}

// Order is the order shown in --help: the pipeline from packets to answers.
const COMMANDS: Record<string, Entry> = {
  read: { summary: 'print packets of captures (pcap, pcapng, .gz), one a line or as JSON', load: async () => (await import('./read.js')).command },
  listen: { summary: 'be a Traffic Mirroring / GWLB target: receive VXLAN/GENEVE, write rotating pcapng', load: async () => (await import('./listen.js')).command },
  replay: { summary: 're-encapsulate a capture as VXLAN and send it to a mirror target', load: async () => (await import('./replay.js')).command },
  conns: { summary: 'list TCP connections: state, history, idle gaps, resets; --events for TCP events', load: async () => (await import('./conns.js')).command },
  tls: { summary: 'list TLS sessions and whether they decrypt with the key logs given', load: async () => (await import('./tls.js')).command },
  follow: { summary: "print one connection's (decrypted) byte stream, like Wireshark's Follow Stream", load: async () => (await import('./follow.js')).command },
  http: { summary: 'list HTTP/1.1 and HTTP/2 transactions with timings and outcome', load: async () => (await import('./http.js')).command },
  logs: { summary: 'summarise ALB/NLB/CLB access logs and VPC flow logs; explain each 5xx', load: async () => (await import('./logs.js')).command },
  analyze: { summary: 'correlate captures with logs and name the cause of every load-balancer error', load: async () => (await import('./analyze.js')).command },
  query: { summary: 'ask a store: findings, transactions, conns, tls, logs, or any SQL; table, --json or --csv', load: async () => (await import('./query.js')).command },
  aws: { summary: 'set up VPC Traffic Mirroring for mirrorlens: aws mirror plan|apply|destroy', load: async () => (await import('./aws.js')).command },
  lab: { summary: 'reproduce load-balancer failures with real nginx/curl/conntrack in network namespaces', load: async () => (await import('./lab.js')).command },
  completion: { summary: 'print a bash or zsh completion script: eval "$(mirrorlens completion bash)"', load: async () => (await import('./completion.js')).completionCommand({ names: commandNames, load: loadCommand }) },
  demo: { summary: 'analyze the bundled example (capture + key log + ALB log) and print the verdict', load: async () => (await import('./demo.js')).command },
};

export function registerCommand(name: string, entry: Entry): void {
  COMMANDS[name] = entry;
}

export function commandNames(): string[] {
  return Object.keys(COMMANDS);
}

export function loadCommand(name: string): Promise<Command> {
  const e = COMMANDS[name];
  if (!e) throw new RangeError(`no command '${name}'`);
  return e.load();
}

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, v]) => wrapHanging(`  ${k.padEnd(width)}  ${v.summary}`, 80, width + 4));
  return [
    'mirrorlens: mirrored traffic (VXLAN/GENEVE) + load-balancer logs -> why the 5xx',
    'happened',
    '',
    'Usage: mirrorlens COMMAND [options]    (mirrorlens COMMAND --help: its options)',
    '',
    'Commands:',
    ...lines,
    '',
    'Exit codes: 0 ok, 1 found what --fail-on names, 2 usage, 3 cannot read an input,',
    '4 input not in the expected format, 5 cannot write an output, 6 environment',
    '(port, root, AWS, store), 70 internal error, 130 interrupted (docs/cli.md).',
    '',
    'Quick start: npm run demo',
    '',
  ].join('\n');
}

/** One line of a MirrorlensError for stderr, without a doubled command prefix. */
function errorLine(name: string, e: MirrorlensError): string {
  let text = e.describe();
  for (const p of [`${name}: `, `lab ${name}: `]) if (text.startsWith(p)) text = text.slice(p.length);
  return `mirrorlens ${name}: ${oneLine(text)}\n`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, '; ');
}

/** Node's errno errors that escaped a command: words and the path, never the code. */
function systemError(name: string, err: NodeJS.ErrnoException): { line: string; code: number } {
  const output = ['mkdir', 'write', 'unlink', 'rename', 'copyfile', 'symlink', 'rmdir', 'ftruncate'].includes(err.syscall ?? '');
  const where = err.path !== undefined ? `${err.path}: ` : '';
  const what = output ? 'cannot write' : 'cannot read';
  return { line: `mirrorlens ${name}: ${where}${what}: ${fileProblem(err)}\n`, code: output ? EXIT.output : EXIT.input };
}

export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] !== undefined && COMMANDS[rest[0]]) return main([rest[0], '--help'], io);
    io.stdout.write(topHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout.write('mirrorlens 0.1.0\n');
    return EXIT.ok;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    const guess = name.startsWith('-') ? null : nearest(name, Object.keys(COMMANDS));
    const what = name.startsWith('-') ? `unknown option '${name}' before the command` : `unknown command '${name}'`;
    io.stderr.write(`mirrorlens: ${what}${guess !== null ? ` (did you mean '${guess}'?)` : ''} (see 'mirrorlens --help')\n`);
    return EXIT.usage;
  }
  const cmd = await entry.load();
  const dashdash = rest.indexOf('--');
  const opts = dashdash < 0 ? rest : rest.slice(0, dashdash);
  if (opts.includes('--help') || opts.includes('-h')) {
    // Every help fits in 80 columns, whoever wrote it.
    io.stdout.write(wrapHelp(cmd.usage.endsWith('\n') ? cmd.usage : `${cmd.usage}\n`));
    return EXIT.ok;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (isMirrorlensError(e)) {
      io.stderr.write(errorLine(name, e));
      return exitCodeFor(e);
    }
    const err = e as NodeJS.ErrnoException;
    if (err && err.code === 'EPIPE') return EXIT.ok;
    if (err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) {
      const r = systemError(name, err);
      io.stderr.write(r.line);
      return r.code;
    }
    if (io.env.MIRRORLENS_DEBUG) throw e;
    io.stderr.write(`mirrorlens ${name}: internal error: ${oneLine(err?.message ?? String(e))} (set MIRRORLENS_DEBUG=1 for a stack trace)\n`);
    return EXIT.internal;
  }
}
