/**
 * mirrorlens CLI dispatcher. Each subcommand is a module loaded only when used (fast start).
 */
import type { CliIO, Command } from './command.js';
import { isMirrorlensError } from '../wire/errors.js';

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
  demo: { summary: 'analyze the bundled example (capture + key log + ALB log) and print the verdict', load: async () => (await import('./demo.js')).command },
};

export function registerCommand(name: string, entry: Entry): void {
  COMMANDS[name] = entry;
}

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`);
  return [
    'mirrorlens: mirrored traffic (VXLAN/GENEVE) + load-balancer logs -> why the 5xx happened',
    '',
    'Usage: mirrorlens COMMAND [options]   (mirrorlens COMMAND --help for its options)',
    '',
    'Commands:',
    ...lines,
    '',
    'Quick start: npm run demo',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write('mirrorlens 0.1.0\n');
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr.write(`mirrorlens: unknown command '${name}' (see 'mirrorlens --help')\n`);
    return 2;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(cmd.usage.endsWith('\n') ? cmd.usage : `${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (isMirrorlensError(e)) {
      io.stderr.write(`mirrorlens ${name}: ${e.describe()}\n`);
      return e.code === 'ML_USAGE' ? 2 : 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err.code === 'string' && err.code === 'EPIPE') return 0;
    if (err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) {
      io.stderr.write(`mirrorlens ${name}: ${err.message}\n`);
      return 1;
    }
    if (io.env.MIRRORLENS_DEBUG) throw e;
    io.stderr.write(`mirrorlens ${name}: internal error: ${err?.message ?? String(e)} (set MIRRORLENS_DEBUG=1 for a stack trace)\n`);
    return 70;
  }
}
