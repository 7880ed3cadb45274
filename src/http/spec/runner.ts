/**
 * Runs HTTP spec files (llhttp-style markdown, see src/http/spec/README.md) through createHttpSink,
 * unsplit and at every split point, and reports what came out. Used by spec.test.ts.
 */
import type { ConnInfo, Direction, EndReason } from '../../flow/stream.js';
import { createHttpSink } from '../session.js';
import type { HttpTransaction } from '../transaction.js';

export type SpecStep =
  | { kind: 'data'; dir: Direction; bytes: Uint8Array; time: number }
  | { kind: 'gap'; dir: Direction; length: number; time: number }
  | { kind: 'end'; dir: Direction; reason: EndReason; time: number }
  | { kind: 'skip'; dir: Direction; length: number };

export interface Spec {
  name: string;
  file: string;
  line: number;
  alpn: string | null;
  tls: boolean;
  /** The flow stage saw no handshake (ConnInfo of a mid-stream pickup). */
  midstream: boolean;
  steps: SpecStep[];
  expect: Array<Record<string, unknown>>;
}

/** Interprets a spec text block: each line ends in CRLF unless it ends with a backslash; \r \n \t \xHH \\ escapes. */
export function blockBytes(lines: string[]): Uint8Array {
  const out: number[] = [];
  for (const line of lines) {
    let l = line;
    let terminate = true;
    if (l.endsWith('\\') && !l.endsWith('\\\\')) {
      l = l.slice(0, -1);
      terminate = false;
    }
    for (let i = 0; i < l.length; i++) {
      const c = l[i]!;
      if (c === '\\' && i + 1 < l.length) {
        const n = l[i + 1]!;
        if (n === 'r') out.push(13);
        else if (n === 'n') out.push(10);
        else if (n === 't') out.push(9);
        else if (n === '\\') out.push(92);
        else if (n === 'x') {
          out.push(parseInt(l.slice(i + 2, i + 4), 16));
          i += 2;
        } else out.push(92, n.charCodeAt(0));
        i++;
      } else out.push(c.charCodeAt(0) & 0xff);
    }
    if (terminate) out.push(13, 10);
  }
  return Uint8Array.from(out);
}

export function parseSpecs(text: string, file: string): Spec[] {
  const specs: Spec[] = [];
  const lines = text.split('\n');
  let cur: Spec | null = null;
  let time = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = /^##+ (.+)$/.exec(line);
    if (h) {
      cur = { name: h[1]!.trim(), file, line: i + 1, alpn: null, tls: false, midstream: false, steps: [], expect: [] };
      specs.push(cur);
      time = 0;
      continue;
    }
    const meta = /^<!-- (.*) -->$/.exec(line);
    if (meta && cur) {
      for (const kv of meta[1]!.split(/\s+/)) {
        const [k, v] = kv.split('=');
        if (k === 'alpn') cur.alpn = v ?? null;
        if (k === 'tls') cur.tls = v === 'true';
        if (k === 'midstream') cur.midstream = v === 'true';
      }
      continue;
    }
    const fence = /^```(\S+)$/.exec(line);
    if (!fence || !cur) continue;
    const kind = fence[1]!;
    const body: string[] = [];
    i++;
    while (i < lines.length && lines[i] !== '```') body.push(lines[i++]!);
    if (kind === 'client' || kind === 'server') {
      time += 1;
      cur.steps.push({ kind: 'data', dir: kind === 'client' ? 0 : 1, bytes: blockBytes(body), time });
    } else if (kind === 'client-hex' || kind === 'server-hex') {
      time += 1;
      const bytes = Uint8Array.from(Buffer.from(body.map((l) => l.replace(/#.*$/, '')).join('').replace(/\s+/g, ''), 'hex'));
      cur.steps.push({ kind: 'data', dir: kind === 'client-hex' ? 0 : 1, bytes, time });
    } else if (kind === 'do') {
      for (const d of body) {
        const parts = d.trim().split(/\s+/);
        if (parts[0] === 'time') time = Number(parts[1]);
        else if (parts[0] === 'gap') {
          time += 1;
          cur.steps.push({ kind: 'gap', dir: parts[1] === 'client' ? 0 : 1, length: Number(parts[2]), time });
        } else if (parts[0] === 'skip') {
          cur.steps.push({ kind: 'skip', dir: parts[1] === 'client' ? 0 : 1, length: Number(parts[2]) });
        } else if (parts[0] === 'end') {
          time += 1;
          cur.steps.push({ kind: 'end', dir: parts[1] === 'client' ? 0 : 1, reason: parts[2] as EndReason, time });
        }
      }
    } else if (kind === 'tx') {
      for (const l of body) if (l.trim()) cur.expect.push(JSON.parse(l) as Record<string, unknown>);
    }
  }
  return specs;
}

export function specConn(): ConnInfo {
  return {
    uid: 'C1',
    communityId: '1:test',
    capturePoint: '',
    clientAddr: '10.0.0.1',
    clientPort: 40000,
    serverAddr: '10.0.0.2',
    serverPort: 80,
    startTime: 0,
    previousPacketTime: NaN,
  };
}

/**
 * Runs the steps; `split` = [step index, byte position] delivers that data step as two calls.
 * `bytewise` delivers every data step one byte at a time.
 */
export function runSpec(spec: Spec, split: [number, number] | null = null, bytewise = false): HttpTransaction[] {
  const conn: ConnInfo & { midstream?: boolean } = specConn();
  if (spec.midstream) conn.midstream = true;
  const out: HttpTransaction[] = [];
  const sink = createHttpSink(conn, { alpn: spec.alpn, tls: spec.tls }, (tx) => out.push(tx));
  const offsets = [0, 0];
  let lastTime = NaN;
  spec.steps.forEach((st, idx) => {
    if (st.kind === 'skip') {
      offsets[st.dir]! += st.length;
      return;
    }
    if (st.kind === 'gap') {
      sink.gap(st.dir, offsets[st.dir]!, st.length, st.time);
      offsets[st.dir]! += st.length;
      return;
    }
    if (st.kind === 'end') {
      conn.previousPacketTime = lastTime;
      sink.end(st.dir, st.reason, st.time);
      lastTime = st.time;
      return;
    }
    const deliver = (from: number, to: number): void => {
      conn.previousPacketTime = lastTime;
      // Deliver through a fresh, larger buffer so that parsers cannot rely on offset 0.
      const buf = new Uint8Array(to - from + 8);
      buf.set(st.bytes.subarray(from, to), 4);
      sink.data(st.dir, buf, 4, to - from, offsets[st.dir]! + from, st.time);
      lastTime = st.time;
    };
    const n = st.bytes.length;
    if (bytewise) for (let k = 0; k < n; k++) deliver(k, k + 1);
    else if (split && split[0] === idx && split[1] > 0 && split[1] < n) {
      deliver(0, split[1]);
      deliver(split[1], n);
    } else deliver(0, n);
    offsets[st.dir]! += n;
  });
  return out;
}
