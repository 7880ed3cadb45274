import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSize, command as listen } from './listen.js';
import { parseTarget, command as replay } from './replay.js';
import { main } from './main.js';
import { MirrorlensError } from '../wire/errors.js';

function io(): { io: { stdout: PassThrough; stderr: PassThrough; env: NodeJS.ProcessEnv }; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let e = '';
  stderr.on('data', (d: Buffer) => (e += d.toString()));
  return { io: { stdout, stderr, env: {} }, err: () => e };
}

test('listen: sizes take decimal and binary units', () => {
  assert.equal(parseSize('x', '100MB', 0), 100_000_000);
  assert.equal(parseSize('x', '100M', 0), 100_000_000);
  assert.equal(parseSize('x', '512KiB', 0), 524_288);
  assert.equal(parseSize('x', '1.5GiB', 0), 1_610_612_736);
  assert.equal(parseSize('x', '2g', 0), 2e9);
  assert.equal(parseSize('x', '4096', 0), 4096);
  assert.equal(parseSize('x', undefined, 7), 7);
  assert.throws(() => parseSize('ring-bytes', '10 parsecs', 0), /--ring-bytes wants a size like 100MB/);
});

const usageErrors: [string[], RegExp][] = [
  [[], /--out DIR is required/],
  [['--out', '/tmp/x', '--session', '42'], /--session wants VNI=NAME/],
  [['--out', '/tmp/x', '--session', '99999999=x'], /--session wants VNI=NAME \(VNI 0-16777215\)/],
  [['--out', '/tmp/x', '--allow-source', '10.0.0.0/40'], /--allow-source: '10.0.0.0\/40': prefix length must be 0-32/],
  [['--out', '/tmp/x', '--vxlan-port', '70000'], /--vxlan-port wants a port 0-65535/],
  [['--out', '/tmp/x', '--packet-comments', 'some'], /--packet-comments wants none, gwlb or all/],
  [['--out', '/tmp/x', '--workers', '0'], /--workers wants 1-64/],
  [['--out', '/tmp/x', '--batch-wait-ms', '500'], /--batch-wait-ms wants 0-100/],
  [['--out', '/tmp/x', '--prefix', 'a/b'], /--prefix may hold/],
  [['--out', '/tmp/x', '--bogus'], /unknown option '--bogus'/],
  [['--out', '/tmp/x', '--engine', 'fast'], /--engine wants auto, mmsg, ring or socket, got 'fast'/],
  [['--out', '/tmp/x', '--interface', 'eth0', '--engine', 'mmsg'], /--interface captures with the packet ring, not --engine mmsg/],
  [['--out', '/tmp/x', '--interface', 'eth0;rm'], /--interface wants an interface name/],
  [['--out', '/tmp/x', '--engine', 'ring', '--workers', '2'], /--workers works with the mmsg and socket engines/],
  [['--out', '/tmp/x', '--flush-interval', '0'], /--flush-interval wants 0.05-60 seconds/],
  [['--out', '/tmp/x', '--no-traffic-seconds', '-1'], /--no-traffic-seconds wants 0 or more|wants a number/],
  [['--out', '/tmp/x', '--ring-file', '3'], /unknown option '--ring-file' \(did you mean --ring-files\?\)/],
];
for (const [argv, re] of usageErrors) {
  test(`listen: usage error for ${argv.join(' ') || '(no options)'}`, async () => {
    await assert.rejects(listen.run(argv, io().io), (e: unknown) => e instanceof MirrorlensError && e.code === 'ML_USAGE' && re.test(e.message));
  });
}

test('listen: a missing filter file is one clear line naming it, exit 3', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ml-cli-listen-'));
  try {
    const { io: x, err } = io();
    const code = await main(['listen', '--out', out, '--filter', '/nonexistent/filter.yaml'], x);
    assert.equal(code, 3);
    assert.equal(err(), 'mirrorlens listen: /nonexistent/filter.yaml: cannot read filter file: no such file or directory\n');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('listen: both ports 0 is a usage error', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ml-cli-listen-'));
  try {
    const { io: x, err } = io();
    const code = await main(['listen', '--out', out, '--vxlan-port', '0', '--geneve-port', '0', '--quiet'], x);
    assert.equal(code, 2);
    assert.match(err(), /nothing to listen on/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('replay: targets with default ports, IPv6 in brackets', () => {
  assert.deepEqual(parseTarget('10.0.0.5', false), { host: '10.0.0.5', port: 4789 });
  assert.deepEqual(parseTarget('10.0.0.5', true), { host: '10.0.0.5', port: 6081 });
  assert.deepEqual(parseTarget('host.example:9999', false), { host: 'host.example', port: 9999 });
  assert.deepEqual(parseTarget('[2001:db8::1]:4790', false), { host: '2001:db8::1', port: 4790 });
  assert.deepEqual(parseTarget('2001:db8::1', false), { host: '2001:db8::1', port: 4789 });
  assert.throws(() => parseTarget('h:0', false), /port must be 1-65535/);
});

test('replay: a missing capture is one clear line, exit 3', async () => {
  const { io: x, err } = io();
  const code = await main(['replay', '/nonexistent.pcap', '--to', '127.0.0.1:9', '--quiet'], x);
  assert.equal(code, 3);
  assert.match(err(), /^mirrorlens replay: \/nonexistent\.pcap: cannot read capture/);
  void replay;
});
