/**
 * docs/store.md stays true to the schema: every table and column of schema.ts is documented, with
 * the schema version the code writes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { STORE_SCHEMA_VERSION, TABLE_NAMES, tableDef } from '../../src/store/schema.js';

test('docs/store.md documents every table and column of the record schema', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/store.md'), 'utf8');
  assert.ok(doc.includes(`## The record schema (version ${STORE_SCHEMA_VERSION})`));
  const missing: string[] = [];
  for (const t of TABLE_NAMES) {
    if (!doc.includes(`\`${t}\``)) missing.push(t);
    for (const c of tableDef(t).columns) if (c.name !== 'ts' && c.name !== 'node' && !doc.includes(`\`${c.name}\``)) missing.push(`${t}.${c.name}`);
  }
  assert.deepEqual(missing, []);
});
