// Every error code of src/wire/errors.ts exits with a documented code that says what went wrong
// (docs/cli.md's table), and only a bug exits 70.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { EXIT, exitCodeFor } from './exit.js';

const EXPECTED: Record<keyof typeof ErrorCode, number> = {
  Usage: 2,
  FileOpen: 3,
  NotACapture: 4,
  CaptureCorrupt: 4,
  KeylogParse: 4,
  LogParse: 4,
  LogFormat: 4,
  FilterParse: 2, // on the command line; a rules file with a mistake is 4 (below)
  CaptureWrite: 5,
  OutputWrite: 5,
  Listen: 6,
  Lab: 6,
  Store: 6,
  Aws: 6,
  Internal: 70,
};

test('every ErrorCode maps to the exit code docs/cli.md gives its kind of failure', () => {
  for (const [name, code] of Object.entries(ErrorCode) as [keyof typeof ErrorCode, ErrorCode][]) {
    assert.ok(name in EXPECTED, `ErrorCode.${name} has no expected exit code in this table`);
    assert.equal(exitCodeFor(new MirrorlensError(code, 'x')), EXPECTED[name], `ErrorCode.${name}`);
  }
  assert.equal(exitCodeFor(new MirrorlensError(ErrorCode.FilterParse, 'x', { file: 'rules.yaml', line: 3 })), 4);
});

test('only ErrorCode.Internal exits 70 (a bug); AWS refusals are the environment, not a bug', () => {
  const internal = Object.values(ErrorCode).filter((c) => exitCodeFor(new MirrorlensError(c, 'x')) === EXIT.internal);
  assert.deepEqual(internal, [ErrorCode.Internal]);
  assert.equal(exitCodeFor(new MirrorlensError(ErrorCode.Aws, '--alb nope: DescribeLoadBalancers failed: LoadBalancerNotFound')), EXIT.environment);
});

test("docs/cli.md's exit code table lists exactly the codes of EXIT", () => {
  const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Exit codes'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| code |')));
  const documented = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
  assert.deepEqual(documented, Object.values(EXIT));
});
