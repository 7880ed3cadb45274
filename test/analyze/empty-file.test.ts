// A listener killed (kill -9) right after it rotated leaves an empty last file: nothing was
// captured in it. Analyzing the directory reads the other files, with a warning for that one (as
// for a file cut off before its first block); a set of only empty files is one error; an empty
// file alone stays "not a capture". (Seen in CI: test/listen/shutdown.test.ts's kill -9.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runBin } from '../cli/bin.js';

const CAP = resolve(import.meta.dirname, '../fixtures/lab/h2-goaway-all.pcapng');

test('an empty file among a listener\'s files is a warning, not an error; only empty files, or one alone, are one error', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ml-empty-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  copyFileSync(CAP, join(d, 'mirrorlens-1.pcapng'));
  writeFileSync(join(d, 'mirrorlens-2.pcapng'), '');
  const alone = await runBin(['analyze', CAP, '--format', 'json']);
  const set = await runBin(['analyze', d, '--format', 'json']);
  assert.equal(set.code, alone.code, set.err);
  const report = (r: { out: string }): { findings: unknown; stats: { warnings: string[] } } => JSON.parse(r.out) as { findings: unknown; stats: { warnings: string[] } };
  assert.ok(report(set).stats.warnings.some((w) => /capture cut off before its first block: the file is empty/.test(w)), JSON.stringify(report(set).stats.warnings));
  assert.deepEqual(report(set).findings, report(alone).findings);

  const e = mkdtempSync(join(tmpdir(), 'ml-empty-'));
  t.after(() => rmSync(e, { recursive: true, force: true }));
  writeFileSync(join(e, 'a.pcapng'), '');
  writeFileSync(join(e, 'b.pcapng'), '');
  const none = await runBin(['analyze', e]);
  assert.equal(none.code, 4);
  assert.equal(none.err.trim().split('\n').length, 1, none.err);
  assert.match(none.err, /a\.pcapng \(byte offset 0\): no packet could be read: capture cut off before its first block: the file is empty/);
  const one = await runBin(['analyze', join(e, 'a.pcapng')]);
  assert.equal(one.code, 4);
  assert.match(one.err, /a\.pcapng \(byte offset 0\): the file is empty, not a pcap or pcapng capture/);
});
