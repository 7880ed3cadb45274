/**
 * readLogs with onAlbFacts: the native scan (alb-scan-native.ts) against the JavaScript alone
 * (nativeScan: false) on whole files: the same facts for the same line numbers, the same records,
 * bad lines, messages and summary, for plain and gzip files, streams cut anywhere, hostile bytes,
 * too-long lines and a last line without a newline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { readLogs, type ReadLogsOptions } from './read.js';
import { nativeAlbScan } from './alb-scan-native.js';
import { loadAnalyzeNative } from '../capture/native-analyze.js';
import { FILES, hostileLog } from '../../test/alb-lines.js';

const skip = nativeAlbScan() === null ? `no native scan: ${loadAnalyzeNative().why}` : false;
const fixtures = join(import.meta.dirname, '../../test/fixtures');

/** Everything readLogs tells its callers, in order. `native`: how many facts came without a line (the native scan's). */
async function run(paths: string[], nativeScan: boolean, opts: ReadLogsOptions = {}): Promise<{ events: unknown[]; native: number }> {
  const events: unknown[] = [];
  let native = 0;
  const summary = await readLogs(paths, (r) => events.push(['record', JSON.stringify(r)]), {
    ...opts,
    nativeScan,
    onBadLine: (b) => events.push(['bad', b.file, b.line, b.reason]),
    onAlbFacts: (f) => {
      if (f.line === '') native++;
      events.push(['facts', f.file, f.lineNo, f.time, f.clientV4, f.clientAddr, f.clientPort, f.targetAddr, f.targetPort, f.elbStatusCode]);
      // (as the analysis's log pass: the errors are wanted in full)
      return f.elbStatusCode === null || f.elbStatusCode < 500;
    },
  });
  events.push(['summary', summary]);
  return { events, native };
}

async function same(paths: string[], opts: ReadLogsOptions = {}): Promise<number> {
  const js = await run(paths, false, opts);
  const c = await run(paths, true, opts);
  assert.equal(js.native, 0);
  assert.deepStrictEqual(c.events, js.events);
  return c.native;
}

function tmp(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'ml-logs-native-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('the native scan gives readLogs the same facts, records and bad lines as the JavaScript: fixtures', { skip }, async () => {
  const taken = await same(FILES.map((f) => join(fixtures, f)));
  assert.ok(taken > 0);
});

test('the same on 20 000 generated lines (mutated, hostile bytes, CRLF, long lines): plain, gzip, and a too-small line limit', { skip }, async (t) => {
  const d = tmp(t);
  const log = hostileLog(20000, 42);
  writeFileSync(join(d, 'a.log'), log);
  writeFileSync(join(d, 'a.log.gz'), gzipSync(log));
  const taken = await same([join(d, 'a.log')]);
  assert.ok(taken > 10000, `${taken} lines taken natively`);
  await same([join(d, 'a.log.gz')]);
  // Lines over the limit (in characters: a line of UTF-8 may be longer in bytes and still fit).
  await same([join(d, 'a.log')], { maxLineChars: 700 });
  await same([join(d, 'a.log')], { maxLineChars: 4000 });
});

test('the same whatever the chunking of a stream (stdin), and for a log that is not ALB', { skip }, async (t) => {
  const log = hostileLog(3000, 7);
  for (const sizes of [[1], [7, 13], [4095, 4097], [65536]]) {
    const chunks: Buffer[] = [];
    for (let i = 0, k = 0; i < log.length; k++) {
      const n = sizes[k % sizes.length]!;
      chunks.push(log.subarray(i, i + n));
      i += n;
    }
    const js = await run(['-'], false, { stdin: Readable.from(chunks) });
    const c = await run(['-'], true, { stdin: Readable.from(chunks) });
    assert.deepStrictEqual(c.events, js.events, `chunks of ${sizes.join(', ')}`);
  }
  const d = tmp(t);
  const nlb = readFileSync(join(fixtures, 'aws-logs/nlb-doc.log'));
  writeFileSync(join(d, 'nlb.log'), nlb);
  await same([join(d, 'nlb.log')]);
});
