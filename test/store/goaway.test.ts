// A GOAWAY recorded into the store: analyze --store must see the cut requests' retries (answered,
// so not among the failed transactions it reads) and give batch's info finding, not call them lost.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ALL_TIME } from '../../src/capture/window.js';
import { analyze } from '../../src/analyze/analyze.js';
import { analyzeStore } from '../../src/analyze/from-store.js';
import type { Finding } from '../../src/diagnose/finding.js';
import { openReader, openSink } from '../../src/store/open.js';
import { Recorder } from '../../src/store/recorder.js';

const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-goaway-store-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function story(f: Finding): string {
  return `${f.kind} ${f.severity} ${f.goaway?.errorCode}: ${f.goaway?.streams.map((s) => `${s.streamId} ${s.path} ${s.outcome} ${s.retry?.status ?? '-'}`).join(', ')}`;
}

for (const [name, want] of [
  ['h2-goaway-all', 'http2-goaway info NO_ERROR: 5 /goaway/c retried 200, 7 /goaway/d retried 200, 9 /goaway/e retried 200'],
  ['h2-goaway-lost-all', 'http2-goaway error NO_ERROR: 5 /goaway/c not-retried -, 7 /goaway/d not-retried -, 9 /goaway/e not-retried -'],
] as const) {
  test(`${name}: analyze --store gives batch's GOAWAY finding (the retries read back with the cut requests)`, async () => {
    const capture = `test/fixtures/lab/${name}.pcapng`;
    const keys = `test/fixtures/lab/${name}.keys`;
    const dir = join(tmp, name);
    const rec = new Recorder(openSink(dir, { node: 'n1' }), 'n1');
    const batch = await analyze({ captures: [capture], keylogs: [keys] }, { recorder: rec });
    await rec.close();
    assert.deepEqual(batch.report.findings.map(story), [want]);
    const reader = await openReader(dir);
    try {
      const fromStore = await analyzeStore(reader, ALL_TIME);
      assert.deepEqual(fromStore.report.findings.map(story), [want]);
      // Whole: the GOAWAY's time and last-stream-id (schema version 2) included.
      assert.deepEqual(fromStore.report.findings.map((f) => ({ ...f, id: undefined })), batch.report.findings.map((f) => ({ ...f, id: undefined })));
    } finally {
      await reader.close();
    }
  });
}
