import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from './lines.js';

function split(chunks: string[], max?: number): string[] {
  const out: string[] = [];
  const s = new LineSplitter((line, tooLong) => out.push(tooLong ? '<too long>' : line), max);
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

test('LF and CRLF terminators are removed; a last line without one is kept', () => {
  assert.deepEqual(split(['a\nb\r\nc']), ['a', 'b', 'c']);
  assert.deepEqual(split(['a\r\n\r\nb\n']), ['a', '', 'b']);
  assert.deepEqual(split(['']), []);
});

test('the same lines come out for every split point of the input', () => {
  const input = 'first line\r\nsecond "quoted" line\n\nx\r\nlast without newline';
  const whole = split([input]);
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j += 3) {
      assert.deepEqual(split([input.slice(0, i), input.slice(i, j), input.slice(j)]), whole, `split at ${i},${j}`);
    }
  }
});

test('an over-long line is reported once and does not grow memory, for every chunking', () => {
  const input = `ok\n${'x'.repeat(50)}\r\nafter\n`;
  for (let i = 0; i <= input.length; i++) {
    assert.deepEqual(split([input.slice(0, i), input.slice(i)], 20), ['ok', '<too long>', 'after'], `split at ${i}`);
  }
  // One character at a time too.
  assert.deepEqual(split([...input], 20), ['ok', '<too long>', 'after']);
});

test('Utf8LineFeeder: same lines for every byte split, UTF-8 intact, ASCII and non-ASCII blocks', async () => {
  const { Utf8LineFeeder } = await import('./lines.js');
  const input = Buffer.from('plain ascii\r\nBücher 日本 😀\n\nlast é');
  const feed = (parts: Buffer[], max?: number): string[] => {
    const out: string[] = [];
    const f = new Utf8LineFeeder(new LineSplitter((line, tooLong) => out.push(tooLong ? '<too long>' : line), max));
    for (const p of parts) f.push(p);
    f.end();
    return out;
  };
  const whole = feed([input]);
  assert.deepEqual(whole, ['plain ascii', 'Bücher 日本 😀', '', 'last é']);
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j++) {
      assert.deepEqual(feed([input.subarray(0, i), input.subarray(i, j), input.subarray(j)]), whole, `split at ${i},${j}`);
    }
  }
});

test('Utf8LineFeeder: a line longer than the limit arriving in newline-free chunks is dropped, not buffered', async () => {
  const { Utf8LineFeeder } = await import('./lines.js');
  const out: string[] = [];
  const f = new Utf8LineFeeder(new LineSplitter((line, tooLong) => out.push(tooLong ? '<too long>' : line), 10));
  f.push(Buffer.from('ok\n'));
  for (let i = 0; i < 100; i++) f.push(Buffer.from('x'.repeat(7)));
  f.push(Buffer.from('tail\nnext\n'));
  f.end();
  assert.deepEqual(out, ['ok', '<too long>', 'next']);
});
