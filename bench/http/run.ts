/**
 * HTTP/1 parsing benchmark: mirrorlens' Http1Parser against llhttp (Node's own HTTP parser, through
 * the undocumented `_http_common.HTTPParser`) on the same bytes in the same process: a keep-alive
 * stream of requests (ALB-to-target style heads) and one of responses (heads + bodies), cut into
 * 1448-byte segments. Prints MB/s per parser (median of N runs) and the ratio, and the process's
 * peak RSS. llhttp (through Node's binding) makes a string of every header name and value; ours
 * makes strings only for what is read, so its handler reads what the analysis reads (method,
 * target, status and the SELECTED_HEADERS values, as src/http/h1-session.ts does).
 *
 *   npx tsx bench/http/run.ts [--runs 7] [--mb 64]
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { Http1Parser, type H1Handler, type H1Head } from '../../src/http/h1-parser.js';
import { selectedHeadersOfLength } from '../../src/http/transaction.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, mb: { type: 'string' } } });
const runs = Number(values.runs ?? 7);
const targetBytes = Number(values.mb ?? 64) * 1024 * 1024;

const require = createRequire(import.meta.url);
const { HTTPParser } = require('_http_common') as { HTTPParser: LlhttpCtor };
interface LlhttpParser {
  initialize(type: number, resource: object): void;
  execute(b: Buffer): number | Error;
  [k: number]: unknown;
}
interface LlhttpCtor {
  new (): LlhttpParser;
  REQUEST: number;
  RESPONSE: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

function requestStream(): Buffer {
  const parts: string[] = [];
  let n = 0;
  let size = 0;
  while (size < targetBytes) {
    const s =
      `GET /api/v1/orders/${n}?include=items&page=${n % 17} HTTP/1.1\r\nHost: internal-api.example.com\r\n` +
      `X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\r\nX-Forwarded-For: 203.0.113.${n % 250}\r\n` +
      `X-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n` +
      `Accept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n`;
    parts.push(s);
    size += s.length;
    n++;
  }
  return Buffer.from(parts.join(''), 'latin1');
}

function responseStream(): Buffer {
  const parts: string[] = [];
  let n = 0;
  let size = 0;
  const body = 'x'.repeat(2000);
  while (size < targetBytes) {
    const chunked = n % 3 === 0;
    const s = chunked
      ? `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n3e8\r\n${body.slice(0, 1000)}\r\n3e8\r\n${body.slice(0, 1000)}\r\n0\r\n\r\n`
      : `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2000\r\nConnection: keep-alive\r\n\r\n${body}`;
    parts.push(s);
    size += s.length;
    n++;
  }
  return Buffer.from(parts.join(''), 'latin1');
}

function segments(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 1448) out.push(b.subarray(i, Math.min(b.length, i + 1448)));
  return out;
}

/** Reads from a head what h1-session's applyHead and handlers read; returns a checksum so nothing is optimised away. */
function readAsAnalysis(head: H1Head): number {
  let n = head.method.length + head.target.length + head.status;
  for (let i = 0; i < head.fieldCount; i++) {
    const candidates = selectedHeadersOfLength(head.fieldNameLength(i));
    if (candidates === undefined) continue;
    for (const name of candidates) {
      if (head.fieldNameIs(i, name)) {
        n += head.fieldValue(i).length;
        break;
      }
    }
  }
  return n;
}

let checksum = 0;

function ours(kind: 'request' | 'response', segs: Buffer[]): number {
  let messages = 0;
  const h: H1Handler = {
    onMessageBegin() {},
    onHeadersComplete: (head) => {
      checksum += readAsAnalysis(head);
      return 0;
    },
    onBody() {},
    onMessageComplete: () => {
      messages++;
    },
    onMessageGap() {},
    onMessageAbort() {},
    onError(reason) {
      throw new Error(reason);
    },
    onAnomaly() {},
  };
  const p = new Http1Parser(kind, h);
  let off = 0;
  for (const s of segs) {
    p.data(s, 0, s.length, off, 0);
    off += s.length;
  }
  return messages;
}

function llhttp(kind: 'request' | 'response', segs: Buffer[]): number {
  let messages = 0;
  const p = new HTTPParser();
  p.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {});
  p[HTTPParser.kOnHeadersComplete] = () => 0;
  p[HTTPParser.kOnBody] = () => {};
  p[HTTPParser.kOnMessageComplete] = () => {
    messages++;
  };
  for (const s of segs) {
    const r = p.execute(s);
    if (r instanceof Error) throw r;
  }
  return messages;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

for (const kind of ['request', 'response'] as const) {
  const stream = kind === 'request' ? requestStream() : responseStream();
  const segs = segments(stream);
  const mbs: Record<string, number[]> = { mirrorlens: [], llhttp: [] };
  let counts: number[] = [];
  for (let r = 0; r < runs; r++) {
    for (const [name, fn] of [
      ['mirrorlens', ours],
      ['llhttp', llhttp],
    ] as const) {
      const t0 = process.hrtime.bigint();
      const n = fn(kind, segs);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      mbs[name]!.push(stream.length / 1e6 / secs);
      counts.push(n);
    }
  }
  counts = [...new Set(counts)];
  const a = median(mbs.mirrorlens!);
  const b = median(mbs.llhttp!);
  // Each round runs both parsers back to back: the per-round ratio is steadier on a busy machine.
  const ratios = mbs.mirrorlens!.map((x, r) => x / mbs.llhttp![r]!);
  process.stdout.write(
    `${kind}s: ${(stream.length / 1e6).toFixed(1)} MB, ${counts.join('/')} messages, 1448-byte segments, ${runs} runs: ` +
      `mirrorlens ${a.toFixed(0)} MB/s, llhttp ${b.toFixed(0)} MB/s, ratio ${(a / b).toFixed(2)}; ` +
      `per-round ratio median ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})\n`,
  );
}
if (checksum === 0) throw new Error('no head was read');
process.stdout.write(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (node ${process.version})\n`);
