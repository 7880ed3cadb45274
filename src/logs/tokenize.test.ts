import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tokenize, unescapeQuoted, type TokenizeResult } from './tokenize.js';

function tok(line: string): string[] | string {
  const out: string[] = [];
  const r: TokenizeResult = { count: 0, error: '', column: 0 };
  tokenize(line, out, null, r);
  return r.count < 0 ? `error@${r.column}: ${r.error}` : out.slice(0, r.count);
}

test('plain tokens split on single and repeated spaces and tabs', () => {
  assert.deepEqual(tok('a b  c\td'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(tok('  lead trail  '), ['lead', 'trail']);
  assert.deepEqual(tok(''), []);
});

test('a quoted field keeps its spaces and loses its quotes', () => {
  assert.deepEqual(tok('x "GET http://h/ HTTP/1.1" "curl/7.46.0" -'), ['x', 'GET http://h/ HTTP/1.1', 'curl/7.46.0', '-']);
  assert.deepEqual(tok('"" ""'), ['', '']);
  assert.deepEqual(tok('"- - - " "-"'), ['- - - ', '-']);
});

test('escaped quotes and backslashes inside a quoted field are unescaped', () => {
  assert.deepEqual(tok(String.raw`a "say \"hi\" now" b`), ['a', 'say "hi" now', 'b']);
  assert.deepEqual(tok(String.raw`"ends with backslash\\" z`), ['ends with backslash\\', 'z']);
  assert.deepEqual(tok(String.raw`"c:\path\to" z`), ['c:\\path\\to', 'z']);
});

test('a stray quote not followed by a separator stays inside the field', () => {
  assert.deepEqual(tok('"Mozilla "compatible"; x" next'), ['Mozilla "compatible"; x', 'next']);
  // The limit of leniency: an unescaped quote followed by a space ends the field.
  assert.deepEqual(tok('"a "b" c" d'), ['a "b', 'c"', 'd']);
  assert.deepEqual(tok('"h2","http/1.1"'), ['h2","http/1.1']);
});

test('an unterminated quote is an error with its column', () => {
  assert.equal(tok('a b "open and never closed'), 'error@5: unterminated quoted field (opening quote at column 5)');
});

test('unescapeQuoted leaves strings without escapes untouched', () => {
  assert.equal(unescapeQuoted('plain'), 'plain');
  assert.equal(unescapeQuoted('trailing\\'), 'trailing\\');
});

test('tokenize never throws and round-trips space-free and quoted tokens', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      tok(s);
    }),
  );
  const plain = fc.stringMatching(/^[^\s"]+$/);
  const quoted = fc.string().map((s) => s.replace(/[\\"]/g, (c) => `\\${c}`));
  fc.assert(
    fc.property(fc.array(fc.oneof(plain.map((s) => ({ raw: s, v: s })), quoted.map((q) => ({ raw: `"${q}"`, v: unescapeQuoted(q) }))), { maxLength: 12 }), (parts) => {
      const line = parts.map((p) => p.raw).join(' ');
      assert.deepEqual(tok(line), parts.map((p) => p.v));
    }),
  );
});
