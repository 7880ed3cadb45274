/**
 * listen --store: a real listener process receives the idle-reset capture replayed as VXLAN at its
 * own timing, and its records (connections with their file and offset, transactions, the capture
 * file, the live finding) are in the embedded store, readable while it runs and complete after
 * SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openReader } from '../../src/store/open.js';
import { runCli } from '../cli-harness.js';

const root = join(import.meta.dirname, '../..');
const ex = join(root, 'examples/idle-reset');
const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-listen-store-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

test('listen --store records what it receives; the store answers while it runs and after it stops', async () => {
  const out = join(tmp, 'cap');
  const store = join(out, 'records');
  const port = await freeUdpPort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'test/listen/cli.ts'), 'listen', '--out', out, '--bind', '127.0.0.1', '--vxlan-port', String(port), '--geneve-port', '0', '--status-seconds', '0', '--keylog', join(ex, 'keys.log'), '--store', store, '--node', 'alb-eni-listener'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  try {
    for (let i = 0; i < 200 && !/writing /.test(err); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(err, /recording to .*records as node alb-eni-listener/);
    const r = await runCli(['replay', join(ex, 'idle-reset.pcapng'), '--to', `127.0.0.1:${port}`]);
    assert.equal(r.code, 0, r.err);
    // The connections ended during the replay are recorded within the flush interval (1 s here is not asked: the default 10 s).
    await new Promise((res) => setTimeout(res, 1500));
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, err);
  assert.match(err, /listen: store .*: (\d+) records, \1 stored/);
  const reader = await openReader(store);
  try {
    const conns = await reader.query('SELECT uid, node, file, file_offset, capture_point FROM conns ORDER BY ts');
    assert.ok(conns.length >= 3, JSON.stringify(conns));
    assert.ok(conns.every((c) => c.node === 'alb-eni-listener' && String(c.file).startsWith(out) && Number(c.file_offset) > 0));
    const caps = await reader.query('SELECT file, packets FROM captures');
    assert.equal(caps.length, 1);
    assert.equal(caps[0]!.file, conns[0]!.file);
    const tx = await reader.query("SELECT count(*) AS n FROM transactions WHERE path = '/api/checkout'");
    assert.ok(Number(tx[0]!.n) >= 1);
    const f = await reader.query('SELECT kind FROM findings');
    assert.ok(f.some((x) => x.kind === 'idle-timeout-reset'), JSON.stringify(f));
  } finally {
    await reader.close();
  }
});
