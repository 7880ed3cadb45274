// The analysis's log pass (analyze/log-pass.ts) with the native ALB scan and without it
// (MIRRORLENS_NO_NATIVE=1, in a child process each): the same report, notes and calls to the sink
// in the same order, on the fixtures' ALB logs and 20 000 generated hostile lines, plain and gzip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { nativeAlbScan } from '../../src/logs/alb-scan-native.js';
import { loadAnalyzeNative } from '../../src/capture/native-analyze.js';
import { FILES, hostileLog } from '../alb-lines.js';

const skip = nativeAlbScan() === null ? `no native scan: ${loadAnalyzeNative().why}` : false;
const SCRIPT = join(import.meta.dirname, 'log-pass-record.ts');

function pass(paths: string[], noNative: boolean): { native: boolean; text: string } {
  const env = { ...process.env, MIRRORLENS_NO_NATIVE: noNative ? '1' : '' };
  const out = execFileSync(process.execPath, ['--import', 'tsx', SCRIPT, ...paths], { env, maxBuffer: 1 << 30, encoding: 'utf8' });
  const nl = out.indexOf('\n');
  return { native: out.slice(0, nl) === 'native', text: out.slice(nl + 1) };
}

test('the log pass gives the same report, notes and sink calls with the native scan and without', { skip }, (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ml-logpass-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const log = hostileLog(20000, 1234);
  writeFileSync(join(d, 'gen.log'), log);
  writeFileSync(join(d, 'gen.log.gz'), gzipSync(log));
  const paths = [...FILES.map((f) => join(import.meta.dirname, '../fixtures', f)), join(d, 'gen.log'), join(d, 'gen.log.gz')];
  const c = pass(paths, false);
  const js = pass(paths, true);
  assert.equal(c.native, true);
  assert.equal(js.native, false);
  if (c.text !== js.text) {
    let i = 0;
    while (c.text[i] === js.text[i]) i++;
    assert.fail(`the log pass differs at character ${i}: native …${c.text.slice(Math.max(0, i - 200), i + 200)}… JavaScript …${js.text.slice(Math.max(0, i - 200), i + 200)}…`);
  }
});
