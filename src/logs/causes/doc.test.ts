import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderCatalogueMarkdown } from './doc.js';

const DOC = resolve(import.meta.dirname, '../../../docs/verdicts.md');

test('docs/verdicts.md is the catalogue as it is (UPDATE_GOLDEN=1 rewrites it)', () => {
  const want = renderCatalogueMarkdown();
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(DOC, want);
  assert.equal(readFileSync(DOC, 'utf8'), want);
});
