import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { StreamSink } from '../../src/flow/stream.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { createAppSink, sniffTls, type AppLayerInfo } from '../../src/tls/sniff.js';
import { conn, runSink } from './helpers.js';
import { Tls13Connection } from './synth.js';

function keysFor(c: Tls13Connection, labels?: Parameters<Tls13Connection['keylog']>[0]): KeyLog {
  const k = new KeyLog();
  assert.deepEqual(k.addText(c.keylog(labels), 'synthetic'), []);
  return k;
}

test('TLS 1.3 with KeyUpdate in both directions decrypts byte-exact, at every chunk size', () => {
  const c = new Tls13Connection({ sni: 'example.test', alpnOffered: ['h2', 'http/1.1'], alpn: 'http/1.1', keyUpdates: true });
  const keys = keysFor(c);
  for (const chunk of [undefined, 1, 4, 17]) {
    const r = runSink(c.events, keys, { chunk });
    const t = r.sink.tls!;
    assert.equal(t.notDecryptedReason, null, t.problems.join('; '));
    assert.ok(r.client.equals(Buffer.concat(c.sent[0])));
    assert.ok(r.server.equals(Buffer.concat(c.sent[1])));
    assert.equal(t.keyUpdates, 3);
    assert.equal(t.sni, 'example.test');
    assert.deepEqual(t.alpnOffered, ['h2', 'http/1.1']);
    assert.equal(t.alpn, 'http/1.1');
    assert.equal(r.info?.alpn, 'http/1.1', 'next() learns the ALPN');
    assert.deepEqual(t.alerts.map((a) => [a.dir, a.level, a.description, a.encrypted]), [[1, 'warning', 'close_notify', true]]);
    assert.ok(r.offsetsOk);
    assert.deepEqual(r.ends, ['fin', 'fin']);
  }
});

test('TLS 1.3 0-RTT accepted: early data decrypted with CLIENT_EARLY_TRAFFIC_SECRET, in order', () => {
  const c = new Tls13Connection({ earlyData: Buffer.from('GET /early HTTP/1.1\r\n\r\n'), earlyAccepted: true });
  const r = runSink(c.events, keysFor(c));
  const t = r.sink.tls!;
  assert.equal(t.earlyData, 'accepted');
  assert.equal(t.notDecryptedReason, null, t.problems.join('; '));
  assert.ok(r.client.equals(Buffer.concat(c.sent[0])));
  assert.match(r.client.toString(), /^GET \/early/);
});

test('TLS 1.3 0-RTT rejected by the server: the early record is skipped, not reported as a wrong key', () => {
  const c = new Tls13Connection({ earlyData: Buffer.from('GET /early HTTP/1.1\r\n\r\n'), earlyAccepted: false });
  const r = runSink(c.events, keysFor(c));
  const t = r.sink.tls!;
  assert.equal(t.earlyData, 'rejected');
  assert.equal(t.notDecryptedReason, null, t.problems.join('; '));
  assert.ok(r.client.equals(Buffer.concat(c.sent[0])));
  assert.ok(!r.client.toString().includes('/early'));
});

test('TLS 1.3 HelloRetryRequest: the second ClientHello/ServerHello pair is followed', () => {
  const c = new Tls13Connection({ hrr: true, alpn: 'h2' });
  const r = runSink(c.events, keysFor(c));
  const t = r.sink.tls!;
  assert.equal(t.helloRetryRequest, true);
  assert.equal(t.notDecryptedReason, null, t.problems.join('; '));
  assert.ok(r.server.equals(Buffer.concat(c.sent[1])));
});

test('a wrong key is reported as "did not authenticate", and no plaintext is produced from it', () => {
  const c = new Tls13Connection({});
  const k = new KeyLog();
  // server handshake secret of another connection: looks valid, is wrong
  const other = new Tls13Connection({});
  const text = c.keylog().replace(c.secrets.SERVER_HANDSHAKE_TRAFFIC_SECRET.toString('hex'), other.secrets.SERVER_HANDSHAKE_TRAFFIC_SECRET.toString('hex'));
  k.addText(text, 'k');
  const r = runSink(c.events, k);
  const t = r.sink.tls!;
  assert.equal(t.notDecryptedReason, 'auth-failed');
  assert.equal(t.decrypted, false);
  const cr = c.clientRandom.toString('hex');
  assert.ok(t.problems.some((p) => p.startsWith(`key for client random ${cr.slice(0, 8)}... did not authenticate`)), t.problems.join('; '));
  assert.equal(r.server.length, 0);
  for (const p of t.problems) for (const s of Object.values(c.secrets)) assert.ok(!p.includes(s.toString('hex').slice(0, 8)));
});

test('records wait for keys that arrive after the traffic (live key log), then decrypt in order', () => {
  const c = new Tls13Connection({ alpn: 'h2' });
  const keys = new KeyLog();
  const r = runSink(c.events, keys, { noEnd: true });
  assert.equal(r.client.length + r.server.length, 0);
  assert.equal(r.info, null, 'next() waits for the ALPN (EncryptedExtensions, still encrypted)');
  keys.addText(c.keylog(['SERVER_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_TRAFFIC_SECRET_0']), 'late');
  assert.equal((r.info as AppLayerInfo | null)?.alpn, 'h2', 'the server handshake decrypts as soon as its keys arrive');
  // The server's data sent after the client's records (still undecryptable) waits behind them.
  assert.equal(r.client.length, 0);
  assert.ok(r.server.length < Buffer.concat(c.sent[1]).length);
  keys.addText(c.keylog(['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0']), 'later');
  assert.ok(r.client.equals(Buffer.concat(c.sent[0])));
  assert.ok(r.server.equals(Buffer.concat(c.sent[1])));
  r.sink.end(0, 'fin', 0);
  r.sink.end(1, 'fin', 0);
  assert.equal(r.sink.tls!.notDecryptedReason, null);
  assert.deepEqual(r.ends, ['fin', 'fin']);
});

test('with keys read late and one line at a time, plaintext still leaves in capture order (a response never runs ahead of its request)', () => {
  // Seen live: curl writes the server's traffic secret before the client's; the response was
  // decrypted before the request and HTTP paired them wrongly.
  const c = new Tls13Connection({ alpn: 'http/1.1' });
  const keys = new KeyLog();
  const order: [number, number][] = [];
  const plain: StreamSink = {
    data(dir, _b, _o, _l, _so, time) {
      order.push([dir, time]);
    },
    gap() {},
    end() {},
  };
  const sink = createAppSink(conn('C1'), keys, () => plain);
  const off = [0, 0];
  for (const e of c.events) {
    sink.data(e.dir, e.bytes, 0, e.bytes.length, off[e.dir]!, e.time);
    off[e.dir]! += e.bytes.length;
  }
  for (const label of ['SERVER_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_TRAFFIC_SECRET_0', 'CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0'] as const) keys.addText(c.keylog([label]), 'one line');
  assert.ok(order.length >= 2, `${order.length} plaintext chunks`);
  for (let i = 1; i < order.length; i++) assert.ok(order[i]![1] >= order[i - 1]![1], `chunk ${i} (dir ${order[i]![0]}) at ${order[i]![1]} came after one at ${order[i - 1]![1]}`);
});

test('after a capture gap, decryption resumes at the next record that authenticates (sequence number searched)', () => {
  const c = new Tls13Connection({ extraClientRecords: 6 });
  const keys = keysFor(c);
  // the third extra client record is lost: drop its bytes and report a gap instead
  const clientEvents = c.events.map((e, i) => ({ e, i })).filter((x) => x.e.dir === 0);
  const lost = clientEvents[clientEvents.length - 4]!;
  const plain: [Buffer[], Buffer[]] = [[], []];
  let gapSeen = 0;
  const s = createAppSink(conn('G'), keys, () => ({
    data: (d, b, o, l) => void plain[d].push(Buffer.from(b.subarray(o, o + l))),
    gap: (_d, _so, l) => void (gapSeen += l),
    end() {},
  }));
  const off = [0, 0];
  for (const [i, e] of c.events.entries()) {
    if (i === lost.i) s.gap(0, off[0]!, e.bytes.length, e.time);
    else s.data(e.dir, e.bytes, 0, e.bytes.length, off[e.dir]!, e.time);
    off[e.dir]! += e.bytes.length;
  }
  s.end(0, 'fin', 0);
  s.end(1, 'fin', 0);
  const expected = Buffer.concat(c.sent[0].filter((_b, k) => k !== c.sent[0].length - 4));
  assert.ok(Buffer.concat(plain[0]).equals(expected), Buffer.concat(plain[0]).toString());
  assert.equal(gapSeen, lost.e.bytes.length);
  assert.equal(s.tls!.notDecryptedReason, 'capture-gap');
  assert.ok(s.tls!.decrypted);
  assert.match(s.tls!.problems.join('; '), /1 record lost, decryption resumed/);
});

test('keyWaitSeconds: after both directions end, records keep waiting that long for a late key', async () => {
  const c = new Tls13Connection({});
  const keys = new KeyLog();
  const parts: [Buffer[], Buffer[]] = [[], []];
  const ends: string[] = [];
  const s = createAppSink(conn('W'), keys, () => ({ data: (d, b, o, l) => void parts[d].push(Buffer.from(b.subarray(o, o + l))), gap() {}, end: (_d, r) => void ends.push(r) }), { keyWaitSeconds: 0.2 });
  for (const e of c.events) s.data(e.dir, e.bytes, 0, e.bytes.length, 0, e.time);
  s.end(0, 'fin', 1);
  s.end(1, 'fin', 1);
  assert.equal(s.tls!.notDecryptedReason, null, 'still waiting, not given up');
  assert.deepEqual(ends, []);
  await new Promise((r) => setTimeout(r, 50));
  keys.addText(c.keylog(), 'late');
  assert.ok(Buffer.concat(parts[0]).equals(Buffer.concat(c.sent[0])));
  assert.ok(Buffer.concat(parts[1]).equals(Buffer.concat(c.sent[1])));
  assert.equal(s.tls!.notDecryptedReason, null);
  assert.deepEqual(ends, ['fin', 'fin']);
  // and without the key, the wait ends as no-key
  const c2 = new Tls13Connection({});
  const s2 = createAppSink(conn('W2'), new KeyLog(), () => null, { keyWaitSeconds: 0.05 });
  for (const e of c2.events) s2.data(e.dir, e.bytes, 0, e.bytes.length, 0, e.time);
  s2.end(0, 'fin', 1);
  s2.end(1, 'fin', 1);
  assert.equal(s2.tls!.notDecryptedReason, null);
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(s2.tls!.notDecryptedReason, 'no-key');
});

test('no key: reported as no-key with the shortened client random; next() still called at the end', () => {
  const c = new Tls13Connection({});
  const r = runSink(c.events, new KeyLog());
  const t = r.sink.tls!;
  assert.equal(t.notDecryptedReason, 'no-key');
  assert.deepEqual(t.problems, [`no key for client random ${c.clientRandom.toString('hex').slice(0, 8)}...`]);
  assert.ok(r.info !== null && r.info.tls === t);
  assert.deepEqual(r.sink.clientRandomsNeeded, [c.clientRandom.toString('hex')]);
  assert.deepEqual(r.ends, ['fin', 'fin']);
});

test('waiting records are bounded: past maxPendingBytes the connection gives up (pending-limit)', () => {
  const c = new Tls13Connection({});
  let info: unknown = null;
  const sink = createAppSink(conn("C"), new KeyLog(), (_c, i) => ((info = i), null), { maxPendingBytes: 100 });
  for (const e of c.events) sink.data(e.dir, e.bytes, 0, e.bytes.length, 0, e.time);
  assert.equal(sink.tls!.notDecryptedReason, 'pending-limit');
  sink.end(0, 'fin', 1);
  sink.end(1, 'fin', 1);
  assert.ok(info !== null);
});

test('non-TLS connections pass through untouched (client first, server first, gap first)', () => {
  const req = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  for (const order of ['client', 'server', 'gap'] as const) {
    const seen: string[] = [];
    let tlsInfo: unknown = 'unset';
    const next: StreamSink = {
      data: (dir, b, o, l, so) => seen.push(`${dir}@${so}:${Buffer.from(b.subarray(o, o + l)).toString()}`),
      gap: (dir, so, l) => seen.push(`${dir}gap@${so}+${l}`),
      end: (dir, reason) => seen.push(`${dir}end:${reason}`),
    };
    const s = createAppSink(conn('P'), new KeyLog(), (_c, i) => ((tlsInfo = i.tls), next));
    if (order === 'server') s.data(1, Buffer.from('220 smtp\r\n'), 0, 10, 0, 1);
    if (order === 'gap') s.gap(0, 0, 5, 1);
    // split the first bytes so the sniffer has to wait for more
    s.data(0, req, 0, 2, order === 'gap' ? 5 : 0, 1);
    s.data(0, req, 2, req.length - 2, order === 'gap' ? 7 : 2, 1);
    s.end(0, 'fin', 2);
    assert.equal(tlsInfo, null);
    assert.equal(s.tls, null);
    const text = seen.filter((x) => x.startsWith('0@')).map((x) => x.replace(/^0@\d+:/, '')).join('');
    assert.equal(text, req.toString(), order);
    assert.ok(seen.includes('0end:fin'));
  }
});

test('alerts kept per connection are bounded (64), the rest counted', () => {
  const c = new Tls13Connection({});
  // ClientHello, then 100 plaintext warning alerts from the server: 15 03 03 00 02 01 00 (close_notify)
  const alerts = Buffer.concat(Array.from({ length: 100 }, () => Buffer.from('15030300020100', 'hex')));
  const r = runSink([c.events[0]!, { dir: 1, bytes: new Uint8Array(alerts), time: 1 }], new KeyLog());
  const t = r.sink.tls!;
  assert.equal(t.alerts.length, 64);
  assert.equal(t.alertsDropped, 36);
  assert.deepEqual(t.alerts[0], { time: 1, dir: 1, level: 'warning', description: 'close_notify', code: 0, encrypted: false });
});

test('sniffTls: TLS handshake records and SSL 2.0 ClientHellos, nothing else', () => {
  const v = (hex: string): string => sniffTls(Buffer.from(hex, 'hex'), 0, hex.length / 2);
  assert.equal(v('160301'), 'tls'); // handshake, TLS 1.0 record version
  assert.equal(v('1603'), 'more');
  assert.equal(v('16'), 'more');
  assert.equal(v('160401'), 'other');
  assert.equal(v('474554'), 'other'); // "GET"
  assert.equal(v('80490103'), 'tls'); // SSLv2 header, CLIENT-HELLO, version 3.x
  assert.equal(v('80490203'), 'other');
});

test('arbitrary bytes after a TLS-looking start never throw and never produce plaintext', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (a, b, chunk) => {
      const bytes = Buffer.concat([Buffer.from([0x16, 3, 1]), a]);
      let out = 0;
      const s = createAppSink(conn('F'), new KeyLog(), () => ({ data: (_d, _b, _o, l) => void (out += l), gap() {}, end() {} }));
      for (let i = 0; i < bytes.length; i += chunk) s.data(0, bytes, i, Math.min(chunk, bytes.length - i), i, 0);
      s.data(1, b, 0, b.length, 0, 0);
      s.end(0, 'fin', 0);
      s.end(1, 'rst', 0);
      assert.equal(out, 0);
    }),
    { numRuns: 300 },
  );
});

test('TLS 1.3: a connection keeps decrypting (KeyUpdates too) after the key log forgot its secrets', () => {
  const c = new Tls13Connection({ alpn: 'http/1.1', keyUpdates: true });
  let now = 1000;
  const keys = new KeyLog({ now: () => now });
  assert.deepEqual(keys.addText(c.keylog(), 'synthetic'), []);
  const got: [Buffer[], Buffer[]] = [[], []];
  const plain: StreamSink = {
    data: (dir, bytes, offset, length) => void got[dir].push(Buffer.from(bytes.subarray(offset, offset + length))),
    gap() {},
    end() {},
  };
  const sink = createAppSink(conn('C1'), keys, () => plain);
  const off = [0, 0];
  let forgotten = -1;
  let updatesBefore = -1;
  for (const e of c.events) {
    sink.data(e.dir, e.bytes, 0, e.bytes.length, off[e.dir]!, e.time);
    off[e.dir]! += e.bytes.length;
    // Once both directions decrypt (each fetches its traffic secret when it enters that phase),
    // an hour passes: a live capture forgets keys logged before the last 15 minutes.
    if (forgotten < 0 && got[0].length > 0 && got[1].length > 0) {
      updatesBefore = sink.tls!.keyUpdates;
      now += 3600;
      forgotten = keys.forgetBefore(now - 900);
    }
  }
  assert.equal(forgotten, 1);
  assert.equal(keys.size, 0);
  const t = sink.tls!;
  assert.equal(t.notDecryptedReason, null, t.problems.join('; '));
  assert.ok(Buffer.concat(got[0]).equals(Buffer.concat(c.sent[0])));
  assert.ok(Buffer.concat(got[1]).equals(Buffer.concat(c.sent[1])));
  assert.equal(t.keyUpdates, 3);
  assert.ok(updatesBefore < 3, `all ${updatesBefore} KeyUpdates came before the keys were forgotten`);
});
