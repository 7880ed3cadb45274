/**
 * Live analysis over simulated hours: `listen --analyze`'s LiveAnalyzer fed frame by frame, as
 * the listener would, with its own clock, by PER_SECOND new client connections a second (each
 * from a new client address) through a load balancer to a target, one in 200 of them reset by
 * the target and answered 502 (a finding). Every 15 simulated minutes: heap after a full
 * collection, the sizes of what the analyzer keeps, and the time taken. With the default 900 s
 * retention, everything but the last 15 minutes must be forgotten: the heap stays flat after the
 * first quarter hour.
 *
 *   node --expose-gc --import tsx bench/analyze/live-soak.ts [PER_SECOND=50] [HOURS=1]
 */
import { LiveAnalyzer } from '../../src/analyze/live.js';
import { LinkType } from '../../src/wire/link.js';
import { Talk } from '../../test/flow/packets.js';
if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc (see the header)');
  process.exit(2);
}
const gc = globalThis.gc;
const T0 = 1_764_000_000;
const LB = '10.0.1.4';
const perSecond = Number(process.argv[2] ?? 50);
const hours = Number(process.argv[3] ?? 1);
const REQUEST = 'GET /x HTTP/1.1\r\nHost: api.example.com\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

let now = T0;
let findings = 0;
const live = new LiveAnalyzer({ now: () => now, onFinding: () => void findings++ });

/** The frames of connection `n` (client side on VNI 1, target side on VNI 2), starting at `t`. */
function connection(n: number, t: number): { time: number; frame: Uint8Array; vni: string }[] {
  const client = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const port = 1024 + (n % 60000);
  const front = new Talk([client, port], [LB, 80], 11000, 21000);
  const back = new Talk([LB, port], ['10.0.2.9', 8080], 31000, 41000);
  const bad = n % 200 === 0;
  front.handshake(t);
  front.send(0, t + 0.002, REQUEST);
  back.handshake(t + 0.003);
  back.send(0, t + 0.004, REQUEST);
  if (bad) back.rst(1, t + 0.005, false);
  else back.send(1, t + 0.006, OK);
  front.send(1, t + 0.007, bad ? 'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n' : OK);
  front.fin(0, t + 0.008);
  front.fin(1, t + 0.009);
  front.ack(0, t + 0.01);
  if (!bad) {
    back.fin(0, t + 0.011);
    back.fin(1, t + 0.012);
    back.ack(0, t + 0.013);
  }
  return [...front.frames.map((f) => ({ ...f, vni: 'vni:1' })), ...back.frames.map((f) => ({ ...f, vni: 'vni:2' }))];
}

/** Sizes of every map, set and array the analyzer's correlator and session hold (non-empty ones). */
function sizes(): Record<string, number> {
  const l = live as unknown as { corr: object; session: object; reported: Map<string, number> };
  const out: Record<string, number> = {};
  for (const [name, o] of [['corr', l.corr], ['session', l.session]] as const) {
    for (const [k, v] of Object.entries(o)) {
      const n = v instanceof Map || v instanceof Set ? v.size : Array.isArray(v) ? v.length : 0;
      if (n > 0) out[`${name}.${k}`] = n;
    }
  }
  out.reported = l.reported.size;
  out.keys = live.keys.size;
  return out;
}

let n = 0;
const started = performance.now();
for (let s = 0; s < hours * 3600; s++) {
  const frames: { time: number; frame: Uint8Array; vni: string }[] = [];
  for (let j = 0; j < perSecond; j++, n++) frames.push(...connection(n, T0 + s + j / perSecond));
  frames.sort((a, b) => a.time - b.time);
  // Ticks every half second, as the listener's timer does.
  let k = 0;
  for (const half of [0.5, 1]) {
    for (; k < frames.length && frames[k]!.time < T0 + s + half; k++) {
      const fr = frames[k]!;
      now = fr.time;
      const sec = Math.floor(fr.time);
      live.frame(LinkType.Ethernet, sec, Math.round((fr.time - sec) * 1e9), fr.frame, 0, fr.frame.length, fr.frame.length, fr.vni);
    }
    now = T0 + s + half;
    live.tick();
  }
  if ((s + 1) % 900 === 0) {
    gc();
    const m = process.memoryUsage();
    console.log(
      `${(s + 1) / 60} min: ${n} connections, ${findings} findings, heap ${(m.heapUsed / 1048576).toFixed(1)} MiB, ` +
        `rss ${(m.rss / 1048576).toFixed(0)} MiB, ${((performance.now() - started) / 1000).toFixed(0)} s so far; kept: ${JSON.stringify(sizes())}`,
    );
  }
}
live.stop();
