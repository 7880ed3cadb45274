// A targeted analysis that finds nothing to read through TLS and HTTP (every request logged 200,
// every connection clean) does not load those stages' code (src/analyze/dissectors.ts): loading
// them was part of such a run's start-up. One that reads a connection loads them first. (Each test
// file runs in its own process, so the module state starts empty here.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../src/analyze/analyze.js';
import { dissectorsLoaded } from '../../src/analyze/dissectors.js';
import { Talk } from '../flow/packets.js';
import { albLine, LB_BACK_ADDR, LB_FRONT, T0, TARGET, writeScenario } from './scenario.js';

delete process.env.MIRRORLENS_DIFFERENTIAL;

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok';
const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: api.example.com\r\n\r\n`;

/** `n` requests, each on its own client and target connection, answered 200 and logged so; closed cleanly. */
function clean(n: number): { front: Talk[]; back: Talk[]; log: string[] } {
  const front: Talk[] = [];
  const back: Talk[] = [];
  const log: string[] = [];
  for (let i = 0; i < n; i++) {
    const at = T0 + 10 + i * 2;
    const c = new Talk(['198.51.100.7', 52000 + i], LB_FRONT, 100_000 + i * 7919, 200_000 + i * 7919);
    c.handshake(at - 0.002);
    c.send(0, at, get(`/ok/${i}`));
    const b = new Talk([LB_BACK_ADDR, 42000 + i], TARGET, 300_000 + i * 7919, 400_000 + i * 7919);
    b.handshake(at + 0.001);
    b.send(0, at + 0.002, get(`/ok/${i}`));
    b.send(1, at + 0.005, OK);
    b.ack(0, at + 0.0055);
    b.fin(0, at + 0.006);
    b.fin(1, at + 0.0062);
    b.ack(0, at + 0.0064);
    c.send(1, at + 0.007, OK);
    c.ack(0, at + 0.0075);
    c.fin(0, at + 0.008);
    c.fin(1, at + 0.0082);
    c.ack(0, at + 0.0085);
    front.push(c);
    back.push(b);
    log.push(albLine({ time: at + 0.007, requestTime: at, client: ['198.51.100.7', 52000 + i], processing: ['0.000', '0.005', '0.000'], elbStatus: 200, targetStatus: 200, request: `GET http://api.example.com:80/ok/${i} HTTP/1.1` }));
  }
  return { front, back, log };
}

test('nothing to dissect: the TLS and HTTP stages are never loaded; --full loads them and reads every connection', async () => {
  const s = clean(5);
  const w = writeScenario('dissectors-clean', s.front, s.back, s.log);
  const inputs = { captures: [w.capture], albLogs: [w.albLog] };
  const targeted = (await analyze(inputs, { dissect: 'needed' })).report;
  assert.deepEqual([targeted.stats.dissection?.mode, targeted.stats.dissection?.dissected, targeted.findings.length], ['targeted', 0, 0]);
  assert.equal(dissectorsLoaded(), false);
  const full = (await analyze(inputs, { dissect: 'all' })).report;
  assert.deepEqual([full.stats.dissection?.mode, full.stats.dissection?.dissected, full.stats.httpTransactions], ['full', 10, 10]);
  assert.equal(dissectorsLoaded(), true);
});
