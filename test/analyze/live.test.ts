// Live analysis: frames fed one by one as the listener would (in-process, with the frames' own
// clock), and end to end: `mirrorlens listen --analyze` receiving VXLAN datagrams sent in real
// time over loopback prints the idle-timeout-reset finding within about a second of the RST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Finding } from '../../src/diagnose/finding.js';
import { LiveAnalyzer } from '../../src/analyze/live.js';
import { loadNative } from '../../src/capture/native.js';
import { LinkType } from '../../src/wire/link.js';
import { vxlanWrap, type Talk } from '../flow/packets.js';
import { backTalk, frontTalk, T0 } from './scenario.js';

const req = (p: string) => `GET ${p} HTTP/1.1\r\nHost: api.example.com\r\n\r\n`;

/** The idle-reset story with an idle gap of `idle` seconds, starting at `t0`. */
function story(t0: number, idle: number): { front: Talk; back: Talk; rstTime: number } {
  const back = backTalk();
  back.handshake(t0);
  back.send(0, t0 + 0.01, req('/warm'));
  back.send(1, t0 + 0.02, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  back.ack(0, t0 + 0.021);
  const tFail = t0 + 0.021 + idle;
  const front = frontTalk(50001);
  front.handshake(tFail - 0.004);
  front.send(0, tFail - 0.002, req('/orders'));
  back.send(0, tFail, req('/orders'));
  back.rst(1, tFail + 0.0003, false);
  front.send(1, tFail + 0.001, 'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
  return { front, back, rstTime: tFail + 0.0003 };
}

test('LiveAnalyzer reports the idle-timeout-reset within a second of the RST, once', () => {
  const { front, back, rstTime } = story(T0, 400);
  const frames = [...front.frames.map((f) => ({ ...f, vni: 'vni:1' })), ...back.frames.map((f) => ({ ...f, vni: 'vni:2' }))].sort((a, b) => a.time - b.time);
  let now = T0;
  const found: { f: Finding; at: number }[] = [];
  const live = new LiveAnalyzer({ now: () => now, onFinding: (f) => found.push({ f, at: now }) });
  for (const fr of frames) {
    // Ticks every 0.5 s of capture time, as the timer would.
    while (now + 0.5 <= fr.time) {
      now += 0.5;
      live.tick();
    }
    now = fr.time;
    const sec = Math.floor(fr.time);
    live.frame(LinkType.Ethernet, sec, Math.round((fr.time - sec) * 1e9), fr.frame, 0, fr.frame.length, fr.frame.length, fr.vni);
  }
  for (let i = 0; i < 6; i++) {
    now += 0.5;
    live.tick();
  }
  live.stop();
  assert.equal(found.length, 1, found.map((x) => x.f.kind).join());
  assert.equal(found[0]!.f.kind, 'idle-timeout-reset');
  assert.ok(found[0]!.at - rstTime <= 1.01, `reported ${(found[0]!.at - rstTime).toFixed(3)} s after the RST`);
});

// the default engine (mmsg when the native addon is built) and the packet ring (root)
for (const engine of ['auto', 'ring'] as const) {
  test(`listen --analyze (--engine ${engine}) prints the finding live for VXLAN datagrams sent in real time`, { skip: engine === 'ring' && (process.getuid?.() !== 0 || !loadNative().addon) ? 'needs root and the native addon' : false }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ml-live-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = 20000 + (process.pid % 20000) + (engine === 'ring' ? 1 : 0);
    const bin = resolve(import.meta.dirname, '../listen/cli.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', bin, 'listen', '--out', dir, '--bind', '127.0.0.1', '--vxlan-port', String(port), '--geneve-port', '0', '--analyze-json', '--status-seconds', '0', '--engine', engine], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Never left behind, whatever fails below.
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`listen did not start: ${err}`)), 20000);
      child.stderr.on('data', () => {
        if (err.includes('analyzing live')) {
          clearTimeout(timer);
          res();
        }
      });
    });
    const sock = createSocket('udp4');
    const start = Date.now() / 1000;
    const { front, back } = story(start, 1.5);
    const frames = [...front.frames.map((f) => ({ ...f, vni: 1 })), ...back.frames.map((f) => ({ ...f, vni: 2 }))].sort((a, b) => a.time - b.time);
    let rstSentAt = 0;
    for (const fr of frames) {
      const wait = (fr.time - start) * 1000 - (Date.now() - start * 1000);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const pkt = vxlanWrap(fr.frame, fr.vni, '127.0.0.1', '127.0.0.1');
      // The outer headers are the kernel's: send only the VXLAN header and the inner frame.
      await new Promise<void>((r) => sock.send(pkt.subarray(14 + 20 + 8), port, '127.0.0.1', () => r()));
      if (fr.frame[14 + 20 + 13] === 0x04) rstSentAt = Date.now();
    }
    sock.close();
    const deadline = Date.now() + 5000;
    while (!out.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const firstAt = Date.now();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const line = out.split('\n').find((l) => l.trim());
    assert.ok(line, `no finding printed; stderr: ${err}`);
    const f = JSON.parse(line) as { kind: string; status: number | null; resetBy: string };
    assert.equal(f.kind, 'idle-timeout-reset');
    assert.equal(f.resetBy, '10.0.2.9:8080');
    assert.ok(rstSentAt > 0 && firstAt - rstSentAt < 2500, `finding ${firstAt - rstSentAt} ms after the RST was sent`);
  });
}

test('LiveAnalyzer forgets key-log secrets logged longer ago than it retains (memory stays bounded over days)', () => {
  let now = T0;
  const live = new LiveAnalyzer({ now: () => now, retainSeconds: 60, onFinding: () => {} });
  const line = (i: number) => `CLIENT_RANDOM ${i.toString(16).padStart(64, '0')} ${'ab'.repeat(48)}`;
  live.keys.addText([1, 2, 3].map(line).join('\n'), 'keys.log');
  now += 30;
  live.keys.addText(line(4), 'keys.log');
  live.tick();
  assert.equal(live.keys.size, 4);
  now += 31; // 61 s after the first three
  live.tick();
  assert.equal(live.keys.size, 1);
  now += 30;
  live.tick();
  assert.equal(live.keys.size, 0);
  live.stop();
});
