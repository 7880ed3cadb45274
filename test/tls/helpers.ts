/**
 * Test helpers for TLS: TCP streams of a capture as (dir, bytes, time) events, tshark's own
 * decryption of the same capture (Follow TLS Stream), and a runner feeding our sink.
 */
import { execFileSync } from 'node:child_process';
import type { ConnInfo, Direction, EndReason, StreamSink } from '../../src/flow/stream.js';
import type { KeyLog } from '../../src/tls/keylog.js';
import { createAppSink, type AppLayerInfo, type AppSink } from '../../src/tls/sniff.js';

export interface StreamEvent {
  dir: Direction;
  bytes: Uint8Array;
  time: number;
}

export interface TcpStream {
  index: number;
  clientPort: number;
  serverPort: number;
  events: StreamEvent[];
}

export function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** TCP payload per stream, in capture order, retransmitted bytes dropped (via relative seq). */
const FIELDS = ['-T', 'fields', '-E', 'separator=|', '-e', 'tcp.stream', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.seq',
  '-e', 'tcp.len', '-e', 'tcp.payload', '-e', 'frame.time_epoch', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-Y', 'tcp'];

export function tcpStreams(pcap: string): TcpStream[] {
  const out = execFileSync('tshark', ['-r', pcap, ...FIELDS], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return parseStreams(out);
}

/**
 * One tshark run: the TCP streams (as tcpStreams) and tshark's decrypted application data for
 * streams 0..count-1 (Follow TLS Stream, raw), keyed by stream index.
 */
export function tsharkCapture(pcap: string, keylog: string | null, count: number, extra: string[] = []): { streams: TcpStream[]; plain: Map<number, { client: Buffer; server: Buffer }> } {
  const args = ['-r', pcap, ...extra, ...FIELDS];
  if (keylog !== null) args.unshift('-o', `tls.keylog_file:${keylog}`);
  for (let i = 0; i < count; i++) args.push('-z', `follow,tls,raw,${i}`);
  const out = execFileSync('tshark', args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const cut = out.indexOf('\n=====');
  const streams = parseStreams(cut < 0 ? out : out.slice(0, cut + 1));
  const plain = new Map<number, { client: Buffer; server: Buffer }>();
  const blocks = cut < 0 ? [] : out.slice(cut + 1).split(/^={10,}\n(?=Follow:)/m);
  for (const b of blocks) {
    const m = /Filter: tcp\.stream eq (\d+)/.exec(b);
    if (m === null) continue;
    const idx = Number(m[1]);
    const st = streams.find((x) => x.index === idx);
    plain.set(idx, parseFollow(b, st?.serverPort ?? -1));
  }
  return { streams, plain };
}

function parseStreams(out: string): TcpStream[] {
  const streams = new Map<number, TcpStream & { next: Map<number, number>; raw: { port: number; seq: number; payload: Buffer; time: number }[] }>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [st, sp, dp, seq, len, payload, time, syn, ack] = line.split('|');
    const idx = Number(st);
    let s = streams.get(idx);
    if (s === undefined) {
      s = { index: idx, clientPort: Number(sp), serverPort: Number(dp), events: [], next: new Map(), raw: [] };
      streams.set(idx, s);
    }
    if (syn === '1' && ack === '0') {
      s.clientPort = Number(sp);
      s.serverPort = Number(dp);
    }
    if (Number(len) > 0) s.raw.push({ port: Number(sp), seq: Number(seq), payload: Buffer.from(payload!.replace(/:/g, ''), 'hex'), time: Number(time) });
  }
  const result: TcpStream[] = [];
  for (const s of streams.values()) {
    // Without a SYN, the client is whoever sends a ClientHello first.
    const hello = s.raw.find((r) => r.payload[0] === 0x16 && r.payload[5] === 1);
    if (hello !== undefined && hello.port !== s.clientPort) {
      s.serverPort = s.clientPort;
      s.clientPort = hello.port;
    }
    const held: [Map<number, Buffer>, Map<number, Buffer>] = [new Map(), new Map()];
    for (const r of s.raw) {
      const dir: Direction = r.port === s.clientPort ? 0 : 1;
      let expected = s.next.get(dir) ?? r.seq;
      if (r.seq > expected) {
        held[dir].set(r.seq, r.payload); // out of order: wait for the hole to fill
        continue;
      }
      let seq = r.seq;
      let payload = r.payload;
      for (;;) {
        const end = seq + payload.length;
        if (end > expected) {
          s.events.push({ dir, bytes: new Uint8Array(payload.subarray(expected - seq)), time: r.time });
          expected = end;
        }
        const nextHeld = [...held[dir].keys()].filter((k) => k <= expected).sort((a, b) => a - b)[0];
        if (nextHeld === undefined) break;
        seq = nextHeld;
        payload = held[dir].get(nextHeld)!;
        held[dir].delete(nextHeld);
      }
      s.next.set(dir, expected);
    }
    result.push({ index: s.index, clientPort: s.clientPort, serverPort: s.serverPort, events: s.events });
  }
  return result.sort((a, b) => a.index - b.index);
}

/** tshark's decrypted application data for a stream (Follow TLS Stream, raw), per direction. */
export function tsharkPlaintext(pcap: string, keylog: string | null, stream: number, serverPort: number, extra: string[] = []): { client: Buffer; server: Buffer } {
  const args = ['-r', pcap, ...extra, '-q', '-z', `follow,tls,raw,${stream}`];
  if (keylog !== null) args.unshift('-o', `tls.keylog_file:${keylog}`);
  const out = execFileSync('tshark', args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return parseFollow(out, serverPort);
}

function parseFollow(out: string, serverPort: number): { client: Buffer; server: Buffer } {
  const client: Buffer[] = [];
  const server: Buffer[] = [];
  let inBody = false;
  let swap = false;
  for (const line of out.split('\n')) {
    if (line.startsWith('Node 0:')) swap = line.endsWith(`:${serverPort}`);
    if (line.startsWith('Node 1:')) {
      inBody = true;
      continue;
    }
    if (!inBody || line.startsWith('=====') || line === '') continue;
    if (line.startsWith('\t')) server.push(Buffer.from(line.slice(1), 'hex'));
    else client.push(Buffer.from(line, 'hex'));
  }
  return swap ? { client: Buffer.concat(server), server: Buffer.concat(client) } : { client: Buffer.concat(client), server: Buffer.concat(server) };
}

export interface RunResult {
  sink: AppSink;
  readonly info: AppLayerInfo | null;
  readonly client: Buffer;
  readonly server: Buffer;
  ends: EndReason[];
  readonly offsetsOk: boolean;
}

export function conn(uid: string, clientPort = 40000, serverPort = 443): ConnInfo {
  return {
    uid, communityId: '1:test', capturePoint: '', clientAddr: '192.0.2.1', clientPort, serverAddr: '192.0.2.2', serverPort,
    startTime: 0, previousPacketTime: Number.NaN,
  };
}

/**
 * Feeds the events to createAppSink, split into chunks by `split` (byte positions per event
 * chosen by the caller, default none), and collects the plaintext.
 */
export function runSink(events: StreamEvent[], keys: KeyLog, opts: { uid?: string; chunk?: number; noEnd?: boolean } = {}): RunResult {
  const parts: [Buffer[], Buffer[]] = [[], []];
  const offsets = [0, 0];
  let offsetsOk = true;
  const ends: EndReason[] = [];
  let info: AppLayerInfo | null = null;
  const plain: StreamSink = {
    data(dir, bytes, offset, length, streamOffset) {
      if (streamOffset !== offsets[dir]) offsetsOk = false;
      offsets[dir] = streamOffset + length;
      parts[dir].push(Buffer.from(bytes.subarray(offset, offset + length)));
    },
    gap(dir, streamOffset, length) {
      if (streamOffset !== offsets[dir]) offsetsOk = false;
      offsets[dir] = streamOffset + length;
    },
    end(_dir, reason) {
      ends.push(reason);
    },
  };
  const sink = createAppSink(conn(opts.uid ?? 'C1'), keys, (_c, i) => {
    info = i;
    return plain;
  });
  const off = [0, 0];
  for (const e of events) {
    const step = opts.chunk ?? e.bytes.length;
    for (let i = 0; i < e.bytes.length; i += step) {
      const n = Math.min(step, e.bytes.length - i);
      // Hand over a copy inside a larger buffer so the sink cannot rely on offset 0.
      const buf = new Uint8Array(n + 3);
      buf.set(e.bytes.subarray(i, i + n), 2);
      sink.data(e.dir, buf, 2, n, off[e.dir]!, e.time);
      buf.fill(0xee);
      off[e.dir]! += n;
    }
  }
  if (!opts.noEnd) {
    sink.end(0, 'fin', 0);
    sink.end(1, 'fin', 0);
  }
  return {
    sink,
    get info() {
      return info;
    },
    get client() {
      return Buffer.concat(parts[0]);
    },
    get server() {
      return Buffer.concat(parts[1]);
    },
    ends,
    get offsetsOk() {
      return offsetsOk;
    },
  };
}
