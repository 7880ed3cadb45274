/**
 * Writes a synthetic ALB access log of a given size (default 1 GiB) for the logs benchmark: the
 * 33-field current layout, a realistic mix of listener types, IPv4 and IPv6 clients, user agents
 * with spaces, quotes and escapes, query strings, and a few percent of 4xx/5xx entries with `-`
 * and `-1` fields. Deterministic (seeded), so runs compare.
 *
 *   node --import tsx bench/logs/generate.ts [bytes] [out-file]
 */
import { createWriteStream } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const DEFAULT_OUT = join(import.meta.dirname, '../out/alb-1g.log');

let seed = 0x2545f491;
function rnd(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'curl/8.5.0',
  'okhttp/4.12.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  String.raw`python-requests/2.31.0 \"custom\" agent`,
  '-',
];
const PATHS = ['/', '/api/v1/items', '/api/v1/items/12345?expand=owner&limit=50', '/static/app.3f9a1c.js', '/health', '/login?next=%2Fhome'];
const TYPES = ['https', 'https', 'https', 'h2', 'h2', 'http', 'grpcs', 'wss'];

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

function iso(ms: number, micros: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(micros, 6)}Z`;
}

export function line(i: number, t0: number): string {
  const ms = t0 + Math.floor(i / 20); // ~20 requests per millisecond
  const type = TYPES[rnd(TYPES.length)]!;
  const client = rnd(10) === 0 ? `2001:db8:${rnd(65535).toString(16)}::${rnd(65535).toString(16)}:${1024 + rnd(60000)}` : `203.0.${rnd(255)}.${rnd(255)}:${1024 + rnd(60000)}`;
  const target = `10.0.${rnd(4)}.${10 + rnd(20)}:8080`;
  const roll = rnd(1000);
  let times = `0.00${rnd(9)} 0.0${pad(rnd(99), 2)} 0.000`;
  let elb = '200';
  let tgt = '200';
  let tgtField = target;
  if (roll < 10) {
    times = `0.001 -1 -1`;
    elb = '502';
    tgt = '-';
  } else if (roll < 13) {
    times = `0.001 -1 -1`;
    elb = '504';
    tgt = '-';
  } else if (roll < 15) {
    times = '-1 -1 -1';
    elb = '503';
    tgt = '-';
    tgtField = '-';
  } else if (roll < 60) {
    elb = tgt = '404';
  }
  const scheme = type === 'http' ? 'http' : 'https';
  const port = scheme === 'http' ? 80 : 443;
  const path = PATHS[rnd(PATHS.length)]!;
  const method = rnd(5) === 0 ? 'POST' : 'GET';
  const proto = type === 'h2' || type === 'grpcs' ? 'HTTP/2.0' : 'HTTP/1.1';
  const ua = UAS[rnd(UAS.length)]!;
  const tls = scheme === 'https' ? 'TLS_AES_128_GCM_SHA256 TLSv1.3' : '- -';
  const trace = `Root=1-${Math.floor(ms / 1000).toString(16)}-${pad(i, 24)}`;
  const list = tgtField === '-' ? '"-" "-"' : `"${tgtField}" "${tgt}"`;
  return (
    `${type} ${iso(ms, rnd(1000) * 1000 + rnd(1000))} app/my-loadbalancer/50dc6c495c0c9188 ${client} ${tgtField} ${times} ${elb} ${tgt} ${200 + rnd(2000)} ${300 + rnd(40000)} ` +
    `"${method} ${scheme}://www.example.com:${port}${path} ${proto}" "${ua}" ${tls} arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 ` +
    `"${trace}" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" ${1 + rnd(5)} ${iso(ms - 40, 0)} "forward" "-" "-" ${list} "-" "-" TID_${pad(i % 100000, 16)} "-" "-" "-"\n`
  );
}

export async function generate(bytes: number, out: string): Promise<{ lines: number; bytes: number }> {
  mkdirSync(dirname(out), { recursive: true });
  const ws = createWriteStream(out, { highWaterMark: 1 << 22 });
  const t0 = Date.UTC(2024, 4, 1, 10, 0, 0);
  let written = 0;
  let lines = 0;
  let batch: string[] = [];
  let batchBytes = 0;
  while (written < bytes) {
    const l = line(lines, t0);
    batch.push(l);
    batchBytes += l.length;
    written += l.length;
    lines++;
    if (batchBytes >= 1 << 22) {
      if (!ws.write(batch.join(''))) await new Promise<void>((r) => ws.once('drain', () => r()));
      batch = [];
      batchBytes = 0;
    }
  }
  ws.write(batch.join(''));
  await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return { lines, bytes: written };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bytes = Number(process.argv[2] ?? 1 << 30);
  const out = process.argv[3] ?? DEFAULT_OUT;
  const r = await generate(bytes, out);
  console.log(`wrote ${r.lines} lines, ${r.bytes} bytes to ${out}`);
}
