/**
 * ALB access-log lines for the quick scans' tests (src/logs/alb-scan*.test.ts): the fixtures' lines,
 * a line as the lab writes them, and the edits that mutate them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

const fixtures = join(import.meta.dirname, 'fixtures');
export const FILES = ['aws-logs/alb-2023-doc.log', 'aws-logs/alb-current-doc.log', 'lab/header-too-large-snat-all.alb.log', 'lab/short-body-snat-all.alb.log'];
export const FIXTURE_LINES = FILES.flatMap((f) => readFileSync(join(fixtures, f), 'utf8').split('\n')).filter((l) => l.trim() !== '');

/** A line as the lab's load test writes them (33 fields, every list quoted). */
export const LAB =
  'https 2026-12-05T05:56:47.859000Z app/mlab-alb/50dc6c495c0c9188 198.51.100.10:55180 10.0.1.20:80 0.143 0.175 0.000 200 200 106 240 "GET https://alb.mlab.test:443/load/0/0 HTTP/1.1" "mirrorlens-lab-load/1" TLS_AES_256_GCM_SHA384 TLSv1.3 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mlab-targets/73e2d6bc24d8a067 "Root=1-6b13a79f-ea2e9a4d96344fc91af29f64" "alb.mlab.test" "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" 0 2026-12-05T05:56:47.685000Z "forward" "-" "-" "10.0.1.20:80" "200" "-" "-" TID_dc68602f53271 "-" "-" "-"';
export const SEEDS = [...FIXTURE_LINES, LAB];

/** Characters that move field boundaries or break converters. */
export const HOSTILE = [' ', '  ', '"', '-', '-1', ':', '[', ']', '.', '0', '9', 'T', 'Z', '+', '\t', '\\', '\\"', '" "', 'é', '\u2028', ''];

/** One edit of a line: at a position (modulo its length), delete up to 12 characters, insert a hostile string or any. */
export const EDIT = fc.record({ at: fc.nat(), del: fc.nat({ max: 12 }), ins: fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 6 })) });

export type Edit = { at: number; del: number; ins: string };

/** `line` with the edits applied in turn. */
export function applyEdits(line: string, edits: Edit[]): string {
  let l = line;
  for (const e of edits) {
    const at = e.at % (l.length + 1);
    l = l.substring(0, at) + e.ins + l.substring(at + e.del);
  }
  return l;
}

/** A line cut after field i of a and continued from field j of b (fields as split by single spaces). */
export function splice(a: string, b: string, i: number, j: number): string {
  const fa = a.split(' ');
  const fb = b.split(' ');
  return [...fa.slice(0, i % (fa.length + 1)), ...fb.slice(j % (fb.length + 1))].join(' ');
}

/** Pairs of text a run of lines swaps (clients and targets that look alike, IPv6, non-canonical, '-', empty). */
export const SWAPS: [string, string][] = [
  ['198.51.100.10', '198.51.100.1'],
  ['198.51.100.10', '198.51.100.100'],
  ['198.51.100.10', '2001:db8::a'],
  ['198.51.100.10', '010.51.100.10'],
  ['10.0.1.20:80', '10.0.1.2:80'],
  ['10.0.1.20:80', '10.0.1.20:8'],
  ['10.0.1.20:80', '10.0.1.21:80'],
  ['10.0.1.20:80', '10.0.1.20:81'],
  ['10.0.1.20:80', '-'],
  ['10.0.1.20:80', '""'],
];

/** A hostile log: seeds, mutations, swaps, 5xx, raw bytes (invalid UTF-8, NUL, control), CRLF, blanks, long lines. */
export function hostileLog(lines: number, seed: number): Buffer {
  const rnd = fc.sample(fc.tuple(fc.nat(99), fc.constantFrom(...SEEDS), fc.array(EDIT, { minLength: 1, maxLength: 3 }), fc.constantFrom(...SWAPS), fc.uint8Array({ minLength: 1, maxLength: 3 })), { numRuns: lines, seed });
  const parts: Buffer[] = [Buffer.from(LAB + '\n')];
  for (const [kind, line, edits, swap, bytes] of rnd) {
    let l: string | Buffer = line;
    if (kind < 55) l = line;
    else if (kind < 65) l = line.replace(' 200 200 ', kind % 2 ? ' 502 - ' : ' 460 - ');
    else if (kind < 80) l = line.replace(swap[0], swap[1]);
    else if (kind < 90) l = applyEdits(line, edits).replace(/\n/g, ' ');
    else if (kind < 95) {
      const b = Buffer.from(line);
      const at = (bytes[0]! * 7) % b.length;
      l = Buffer.concat([b.subarray(0, at), Buffer.from(bytes.filter((x) => x !== 0x0a)), b.subarray(at)]);
    } else if (kind < 97) l = line.replace('curl/7.46.0', 'x'.repeat(5000)).replace('mirrorlens-lab-load/1', 'y '.repeat(3000));
    else if (kind < 98) l = '';
    else l = ' ';
    parts.push(typeof l === 'string' ? Buffer.from(l) : l, Buffer.from(kind % 3 === 0 ? '\r\n' : '\n'));
  }
  parts.push(Buffer.from(LAB)); // (no newline at the end)
  return Buffer.concat(parts);
}
