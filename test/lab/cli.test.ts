// `mirrorlens lab` as a command, without root: list, usage errors, doctor's install line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { aptLine } from '../../src/lab/doctor.js';
import { SCENARIOS } from '../../src/lab/scenarios.js';
import { FINDING_KINDS } from '../../src/diagnose/finding.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b: Buffer) => (out += b.toString()));
  stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await main(args, { stdout, stderr, env: {} });
  return { code, out, err };
}

test('lab list names every scenario with the verdict it expects', async () => {
  const r = await cli(['lab', 'list']);
  assert.equal(r.code, 0);
  for (const s of SCENARIOS) assert.match(r.out, new RegExp(`^${s.name} +expects ${s.expectKind ?? 'no finding'} \\(${s.expectStatus}\\)`, 'm'));
});

test('every scenario expects a verdict analyze knows', () => {
  for (const s of SCENARIOS) if (s.expectKind) assert.ok((FINDING_KINDS as readonly string[]).includes(s.expectKind), s.name);
});

test('lab usage errors are one line with exit 2', async () => {
  for (const [args, re] of [
    [['lab'], /missing subcommand/],
    [['lab', 'frobnicate'], /unknown subcommand 'frobnicate'/],
    [['lab', 'run'], /name one scenario/],
    [['lab', 'run', 'nope'], /unknown scenario 'nope'/],
    [['lab', 'run', 'idle-reset', '--capture', 'pcap'], /--capture wants auto, listen or tcpdump/],
    [['lab', 'run', 'idle-reset', '--connections', '5'], /applies to the load scenario only/],
    [['lab', 'run', 'load', '--requests', '0'], /positive integer/],
  ] as const) {
    const r = await cli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});

test('doctor turns missing tools into one apt-get line, each package once', () => {
  assert.equal(aptLine([{ what: 'ip', ok: true, detail: '', pkg: 'iproute2' }]), null);
  assert.equal(
    aptLine([
      { what: 'editcap', ok: false, detail: 'not found', pkg: 'wireshark-common' },
      { what: 'mergecap', ok: false, detail: 'not found', pkg: 'wireshark-common' },
      { what: 'ethtool', ok: false, detail: 'not found', pkg: 'ethtool' },
      { what: 'root', ok: false, detail: 'not root' },
    ]),
    'apt-get install -y --no-install-recommends wireshark-common ethtool',
  );
});
