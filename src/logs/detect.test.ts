import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectFormat, type Detected } from './detect.js';
import { tokenize, type TokenizeResult } from './tokenize.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures/aws-logs');

function detect(line: string): Detected {
  const out: string[] = [];
  const r: TokenizeResult = { count: 0, error: '', column: 0 };
  tokenize(line, out, null, r);
  return detectFormat(out, r.count);
}

test('the first line of every AWS example file is detected as its format', () => {
  const expected: Record<string, Detected> = {
    'alb-2023-doc.log': 'alb',
    'alb-current-doc.log': 'alb',
    'alb-conn-doc.log': 'alb-conn',
    'nlb-doc.log': 'nlb',
    'clb-doc.log': 'clb',
    'flow-v2-doc.log': 'flow',
    'flow-v3-tcp-flags-doc.log': 'flow-header',
    'flow-v5-doc.log': 'flow-header',
    'flow-nat-gateway-doc.log': 'flow-header',
  };
  for (const [name, want] of Object.entries(expected)) {
    const first = readFileSync(join(fixtures, name), 'utf8').split('\n')[0]!;
    assert.equal(detect(first), want, name);
  }
});

test('every line of the ALB examples is ALB (each listener type), the NODATA flow line is flow', () => {
  for (const l of readFileSync(join(fixtures, 'alb-2023-doc.log'), 'utf8').split('\n').filter(Boolean)) assert.equal(detect(l), 'alb');
  assert.equal(detect('2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA'), 'flow');
});

test('a flow record behind a CloudWatch Logs export timestamp', () => {
  assert.equal(detect('2015-05-10T17:41:16.000Z 2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA'), 'flow-timestamped');
});

test('other text is not mistaken for a log format', () => {
  for (const l of ['', 'hello world', '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326', 'http not-a-time x', '{"version":2}', '2 3 4']) {
    assert.equal(detect(l), null, l);
  }
});
