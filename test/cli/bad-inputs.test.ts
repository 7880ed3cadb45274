/**
 * Every command, every input slot, every kind of bad input, through the real program: one line on
 * stderr naming the file, no stack trace, no raw Node error code, nothing on stdout, and the
 * documented exit code (docs/cli.md: 3 cannot be read, 4 not what it should be).
 *
 * "Unreadable" has to hold for root too (CI runs as root, and root reads any file whatever its
 * mode bits): a Unix socket file is one that open(2) refuses to everyone (ENXIO).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, inBatches, runBin } from './bin.js';

const EX = join(ROOT, 'examples/idle-reset');
const CAP = join(EX, 'idle-reset.pcapng');
const KEYS = join(EX, 'keys.log');
const ALB = join(EX, 'alb-access.log');

type Kind = 'missing' | 'directory' | 'empty' | 'wrong-format' | 'truncated' | 'unreadable';
const KINDS: Kind[] = ['missing', 'directory', 'empty', 'wrong-format', 'truncated', 'unreadable'];
/** The documented exit code for each kind of bad input. */
const EXPECTED: Record<Kind, number> = { missing: 3, directory: 3, empty: 4, 'wrong-format': 4, truncated: 4, unreadable: 3 };

/** What each input slot takes, to make its bad inputs. */
type Slot = 'capture' | 'log' | 'flow-log' | 'keylog' | 'filter';

interface Case {
  slot: Slot;
  /** The command line with FILE where the bad input goes. */
  args: string[];
}

const CASES: Case[] = [
  { slot: 'capture', args: ['read', 'FILE'] },
  { slot: 'capture', args: ['conns', 'FILE'] },
  { slot: 'capture', args: ['tls', 'FILE'] },
  { slot: 'capture', args: ['http', 'FILE'] },
  { slot: 'capture', args: ['follow', 'FILE', '--conn', 'CAAAAAAAAAAAAAAAAAA'] },
  { slot: 'capture', args: ['analyze', 'FILE'] },
  { slot: 'capture', args: ['replay', 'FILE', '--to', '127.0.0.1:9', '--quiet'] },
  { slot: 'log', args: ['logs', 'FILE'] },
  { slot: 'log', args: ['analyze', CAP, '--alb-log', 'FILE'] },
  { slot: 'log', args: ['analyze', '--nlb-log', 'FILE'] },
  { slot: 'flow-log', args: ['analyze', '--flow-log', 'FILE'] },
  { slot: 'keylog', args: ['analyze', CAP, '--keylog', 'FILE'] },
  { slot: 'keylog', args: ['tls', CAP, '-k', 'FILE'] },
  { slot: 'keylog', args: ['http', CAP, '--keylog', 'FILE'] },
  { slot: 'keylog', args: ['follow', CAP, '--conn', 'CAAAAAAAAAAAAAAAAAA', '--keylog', 'FILE'] },
  { slot: 'filter', args: ['read', CAP, '--mirror-filter', 'FILE'] },
  { slot: 'filter', args: ['analyze', CAP, '--mirror-filter', 'FILE'] },
  { slot: 'filter', args: ['listen', '--out', 'OUTDIR', '--filter', 'FILE', '--quiet'] },
];

/** Makes the bad input of `kind` for `slot` in `dir`; returns its path. */
function makeBad(dir: string, slot: Slot, kind: Kind, socketPath: string): string {
  const p = join(dir, `${slot}-${kind}`);
  const pcap = readFileSync(join(ROOT, 'test/fixtures/capture/tcpdump_tcp-handshake-nano.pcap'));
  switch (kind) {
    case 'missing':
      return join(dir, 'no-such-dir', `${slot}.file`);
    case 'directory':
      mkdirSync(p);
      return p;
    case 'empty':
      writeFileSync(p, '');
      return p;
    case 'wrong-format':
      // Each slot gets what a user would mix up: a log as a capture, a capture as anything else.
      writeFileSync(p, slot === 'capture' ? readFileSync(ALB) : pcap);
      return p;
    case 'truncated':
      if (slot === 'capture') writeFileSync(p, pcap.subarray(0, 24 + 10)); // file header + 10 bytes of the first record
      else if (slot === 'log' || slot === 'flow-log') writeFileSync(p, gzipSync(readFileSync(ALB)).subarray(0, 20)); // gzip cut before its first line
      else if (slot === 'keylog') writeFileSync(p, readFileSync(KEYS, 'latin1').slice(0, 40)); // cut inside its first line
      else writeFileSync(p, 'ingress:\n  - ruleNumber: 100\n    action: acc'); // YAML cut mid-rule
      return p;
    case 'unreadable':
      return socketPath;
  }
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(path, () => resolve(s));
  });
}

test('every command with each kind of bad input: one line naming the file, no stack trace, the documented exit code', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-bad-inputs-'));
  const socketPath = join(dir, 'unreadable.sock');
  const server = await listen(socketPath);
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const jobs: Array<() => Promise<string | null>> = [];
  for (const c of CASES) {
    for (const kind of KINDS) {
      jobs.push(async () => {
        const file = makeBadOnce(dir, c.slot, kind, socketPath);
        const out = join(dir, `out-${jobs.length}-${Math.random().toString(36).slice(2)}`);
        const args = c.args.map((a) => (a === 'FILE' ? file : a === 'OUTDIR' ? out : a));
        const r = await runBin(args);
        const what = `${args.join(' ')} (${kind})`;
        const lines = r.err.split('\n').filter((l) => l.length > 0);
        const problems: string[] = [];
        if (r.code !== EXPECTED[kind]) problems.push(`exit ${r.code}, want ${EXPECTED[kind]}`);
        if (lines.length !== 1) problems.push(`${lines.length} lines on stderr`);
        if (!r.err.includes(file)) problems.push('stderr does not name the file');
        if (/\n\s+at |internal error/.test(r.err)) problems.push('a stack trace or internal error');
        if (/\bE[A-Z]{3,}\b/.test(r.err)) problems.push('a raw Node error code');
        if (r.out !== '') problems.push(`stdout not empty: ${JSON.stringify(r.out.slice(0, 80))}`);
        return problems.length ? `${what}: ${problems.join('; ')}\n    stderr: ${r.err.trim()}` : null;
      });
    }
  }
  const failures = (await inBatches(jobs, 3)).filter((x): x is string => x !== null);
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
});

const made = new Map<string, string>();
function makeBadOnce(dir: string, slot: Slot, kind: Kind, socketPath: string): string {
  const key = `${slot}/${kind}`;
  let p = made.get(key);
  if (p === undefined) {
    p = makeBad(dir, slot, kind, socketPath);
    made.set(key, p);
  }
  return p;
}
