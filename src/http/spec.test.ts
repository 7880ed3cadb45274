// Spec files in src/http/spec/*.md, run llhttp-style: unsplit, at every split point of every data
// block, and byte by byte. Every run must give the same transactions, and those must match the spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpecs, runSpec, type Spec } from './spec/runner.js';
import type { HttpTransaction } from './transaction.js';

const dir = join(import.meta.dirname, 'spec');

function check(spec: Spec, got: HttpTransaction[]): void {
  const where = `${spec.file}:${spec.line}`;
  assert.equal(got.length, spec.expect.length, `${where}: ${got.length} transactions: ${JSON.stringify(got.map((t) => [t.method, t.path, t.status, t.outcome, t.anomalies]))}`);
  spec.expect.forEach((want, i) => {
    const tx = got[i] as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) {
      if (k === 'anomalies') {
        for (const a of v as string[]) assert.ok((tx.anomalies as string[]).includes(a), `${where} tx ${i + 1}: anomaly ${a} missing from ${JSON.stringify(tx.anomalies)}`);
      } else {
        assert.deepEqual(tx[k], v, `${where} tx ${i + 1}: ${k}`);
      }
    }
  });
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.md'))) {
  const specs = parseSpecs(readFileSync(join(dir, file), 'utf8'), file);
  for (const spec of specs) {
    test(`${file}: ${spec.name}`, () => {
      const base = runSpec(spec);
      check(spec, base);
      const json = JSON.stringify(base);
      spec.steps.forEach((st, idx) => {
        if (st.kind !== 'data') return;
        for (let k = 1; k < st.bytes.length; k++) {
          const got = JSON.stringify(runSpec(spec, [idx, k]));
          if (got !== json) assert.equal(got, json, `split of step ${idx} at byte ${k} changed the result`);
        }
      });
      assert.equal(JSON.stringify(runSpec(spec, null, true)), json, 'byte-by-byte delivery changed the result');
    });
  }
}
