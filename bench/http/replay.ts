/**
 * The HTTP stage alone on a real capture: records what the HTTP sinks receive while the capture is
 * read and decrypted (every data / gap / end call, with the connection's previous-packet time at
 * that moment), then replays those calls into `createHttpSink` implementations, alternating, and
 * prints the CPU time of each replay (user + system, median and range of N rounds). The other
 * stages' time (reading, reassembly, TLS) is left out, so a change to src/http is measured without
 * their noise on a shared machine. Every implementation must produce the same transactions (same
 * JSON, checked), which makes this a behaviour check too.
 *
 *   npx tsx bench/http/replay.ts --capture FILE.pcapng --keylog keys.log [--rounds 7] \
 *     [--impl NAME=path/to/compiled/http/session.js ...]
 *
 * Without --impl it replays into the current source (src/http/session.ts). To compare two builds
 * (for instance the tree before and after a change, compiled with tsc into different folders),
 * name both: --impl before=bench/out/build-x/http/session.js --impl after=bench/out/build-y/http/session.js
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { processCaptures } from '../../src/flow/pipeline.js';
import type { ConnInfo, Direction, EndReason, StreamSink } from '../../src/flow/stream.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { createAppSink } from '../../src/tls/sniff.js';
import type { HttpTransaction } from '../../src/http/transaction.js';

type CreateHttpSink = (conn: ConnInfo, info: { alpn: string | null; tls: boolean }, onTx: (tx: HttpTransaction) => void) => StreamSink;

const { values } = parseArgs({
  options: {
    capture: { type: 'string', multiple: true },
    keylog: { type: 'string', multiple: true },
    rounds: { type: 'string' },
    impl: { type: 'string', multiple: true },
  },
});
if (!values.capture?.length) {
  process.stderr.write('usage: replay.ts --capture FILE [--keylog FILE] [--rounds N] [--impl NAME=session.js ...]\n');
  process.exit(2);
}
const rounds = Number(values.rounds ?? 7);

/** One call the HTTP sink received. `prev` is conn.previousPacketTime when it was made. */
type Call =
  | { kind: 'data'; dir: Direction; bytes: Uint8Array; streamOffset: number; time: number; prev: number }
  | { kind: 'gap'; dir: Direction; streamOffset: number; length: number; time: number; prev: number }
  | { kind: 'end'; dir: Direction; reason: EndReason; time: number; prev: number };

interface RecordedConn {
  conn: ConnInfo & { midstream?: boolean };
  alpn: string | null;
  tls: boolean;
  calls: Call[];
}

/** A plain copy of what the HTTP stage reads from the flow stage's connection object. */
function snapshot(c: ConnInfo): ConnInfo & { midstream?: boolean } {
  return {
    uid: c.uid,
    communityId: c.communityId,
    capturePoint: c.capturePoint,
    clientAddr: c.clientAddr,
    clientPort: c.clientPort,
    serverAddr: c.serverAddr,
    serverPort: c.serverPort,
    startTime: c.startTime,
    previousPacketTime: c.previousPacketTime,
    midstream: (c as ConnInfo & { midstream?: boolean }).midstream,
  };
}

async function record(): Promise<RecordedConn[]> {
  const keys = new KeyLog();
  for (const k of values.keylog ?? []) keys.addText(readFileSync(k, 'utf8'), k);
  const conns: RecordedConn[] = [];
  await processCaptures(values.capture!, {
    onSecrets: (type: number, data: Uint8Array) => void keys.addDsb(type, data),
    onConnectionStart: (conn: ConnInfo) =>
      createAppSink(conn, keys, (c, info) => {
        const rec: RecordedConn = {
          conn: snapshot(c),
          alpn: info.alpn,
          tls: info.tls !== null,
          calls: [],
        };
        conns.push(rec);
        return {
          data: (dir, bytes, offset, length, streamOffset, time) =>
            rec.calls.push({ kind: 'data', dir, bytes: bytes.slice(offset, offset + length), streamOffset, time, prev: c.previousPacketTime }),
          gap: (dir, streamOffset, length, time) => rec.calls.push({ kind: 'gap', dir, streamOffset, length, time, prev: c.previousPacketTime }),
          end: (dir, reason, time) => rec.calls.push({ kind: 'end', dir, reason, time, prev: c.previousPacketTime }),
        };
      }),
  });
  return conns;
}

/**
 * Replays every connection into `create`, giving each transaction to `onTx`. (No transaction is
 * kept: analyze drops most at once, and keeping them makes V8 allocate the records directly in the
 * old generation from then on, which would make the replay slower than the analysis it stands for.)
 */
function replay(conns: RecordedConn[], create: CreateHttpSink, onTx: (tx: HttpTransaction) => void): void {
  for (const rc of conns) {
    const conn = { ...rc.conn };
    const sink = create(conn, { alpn: rc.alpn, tls: rc.tls }, onTx);
    for (const c of rc.calls) {
      conn.previousPacketTime = c.prev;
      if (c.kind === 'data') sink.data(c.dir, c.bytes, 0, c.bytes.length, c.streamOffset, c.time);
      else if (c.kind === 'gap') sink.gap(c.dir, c.streamOffset, c.length, c.time);
      else sink.end(c.dir, c.reason, c.time);
    }
  }
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const impls: Array<[string, CreateHttpSink]> = [];
for (const spec of values.impl ?? []) {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, eq);
  const mod = (await import(pathToFileURL(resolve(spec.slice(eq + 1))).href)) as { createHttpSink: CreateHttpSink };
  impls.push([name, mod.createHttpSink]);
}
if (impls.length === 0) impls.push(['src', (await import('../../src/http/session.js')).createHttpSink as CreateHttpSink]);

const conns = await record();
const calls = conns.reduce((a, c) => a + c.calls.length, 0);
const bytes = conns.reduce((a, c) => a + c.calls.reduce((b, x) => b + (x.kind === 'data' ? x.bytes.length : 0), 0), 0);
process.stdout.write(`recorded ${conns.length} HTTP sinks, ${calls} calls, ${(bytes / 1e6).toFixed(1)} MB of stream data\n`);

const cpu: Record<string, number[]> = {};
let reference: string | null = null;
let txCount = 0;
// Round 0 turns the transactions into JSON to compare the implementations; it is not timed.
for (let r = 0; r <= rounds; r++) {
  for (const [name, create] of impls) {
    const json: string[] = [];
    let count = 0;
    const t0 = process.cpuUsage();
    replay(conns, create, r === 0 ? (tx) => json.push(JSON.stringify(tx)) : () => count++);
    const t = process.cpuUsage(t0);
    if (r > 0) (cpu[name] ??= []).push((t.user + t.system) / 1e6);
    if (r > 0 && count !== txCount) throw new Error(`${name}: ${count} transactions, expected ${txCount}`);
    if (r === 0) {
      const all = json.join('\n');
      if (reference === null) {
        reference = all;
        txCount = json.length;
      } else if (all !== reference) throw new Error(`${name}: transactions differ from ${impls[0]![0]}'s`);
    }
  }
}
for (const [name] of impls) {
  const xs = cpu[name]!;
  process.stdout.write(
    `${name}: ${txCount} transactions, CPU ${median(xs).toFixed(3)} s median of ${xs.length} (min ${Math.min(...xs).toFixed(3)}, max ${Math.max(...xs).toFixed(3)})\n`,
  );
}
