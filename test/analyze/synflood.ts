/**
 * Writes a SYN flood (or port scan) capture: `n` SYNs, none answered, 100 000 a second,
 * VXLAN-encapsulated as Traffic Mirroring delivers them. A flood: each SYN from its own source
 * address to one server (10.0.1.20:80). A scan (`scan: true`): every SYN from one source to
 * the next port of that server. `fixedIsn`: every SYN with one sequence number, as some flood
 * tools send (no join key for the path model). Spread among them, `real` ordinary HTTP exchanges with the same
 * server, each answered 502, and an ALB access log naming them (so a report has findings too).
 * Used by test/analyze/synflood.test.ts and bench/analyze/synflood.ts.
 *
 *   node --import tsx test/analyze/synflood.ts N OUT_PREFIX [REAL] [scan]
 *
 * Options (FloodOptions) also make the server refuse every SYN (a closed port) or answer it and
 * be reset by the client (a half-open scan).
 *     -> OUT_PREFIX.pcapng, OUT_PREFIX.alb.log
 */
import { writeFileSync } from 'node:fs';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { Talk, tcpFrame, vxlanWrap } from '../../test/flow/packets.js';

export const FLOOD_SERVER = '10.0.1.20';
export const FLOOD_PORT = 80;
const T0 = 1_700_000_000;

/** Source address of SYN i: 100.64.0.0/10 counted up (4 million sources before it wraps). */
function source(i: number): string {
  const a = 0x64400000 + (i % 0x400000);
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** One ALB access log line for a request answered 502 with no target status (the classic). */
function albLine(time: number, client: string, cport: number): string {
  const t = `${new Date(Math.floor(time * 1000)).toISOString().slice(0, 23)}000Z`;
  return `http ${t} app/flood-test/0123456789abcdef ${client}:${cport} ${FLOOD_SERVER}:${FLOOD_PORT} 0.000 -1 -1 502 - 120 0 "GET http://shop.example:80/cart HTTP/1.1" "curl/8.5.0" - - arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef "Root=1-65540000-000000000000000000000000" "-" "-" 0 ${t} "forward" "-" "-" ${FLOOD_SERVER}:${FLOOD_PORT} - "-" "-"`;
}

export interface FloodOptions {
  /** Real HTTP exchanges answered 502, with their ALB log lines (default 10). */
  real?: number;
  /** One source, the next port each time (a port scan) instead of a source per SYN. */
  scan?: boolean;
  /** Every SYN with one sequence number, as some flood tools send (no join key for the path model). */
  fixedIsn?: boolean;
  /** What the server answers: nothing (default), a RST (a closed port), or a SYN-ACK the client resets (a half-open scan). */
  answer?: 'none' | 'rst' | 'synack-rst';
}

export function generateSynFlood(n: number, prefix: string, opts: FloodOptions = {}): { capture: string; albLog: string } {
  const { real = 10, scan = false, fixedIsn = false, answer = 'none' } = opts;
  const capture = `${prefix}.pcapng`;
  const w = new PcapngWriter({ path: capture });
  const ifc = w.addInterface({ linkType: 1, name: 'vxlan-vni-7' });
  const write = (time: number, inner: Uint8Array): void => {
    const f = vxlanWrap(inner, 7);
    const sec = Math.floor(time);
    w.writePacket(ifc, sec, Math.round((time - sec) * 1e9), f, 0, f.length);
  };
  const alb: string[] = [];
  const every = real > 0 ? Math.max(1, Math.floor(n / real)) : Infinity;
  for (let i = 0; i < n; i++) {
    const time = T0 + i / 100_000;
    const src = scan ? '198.51.100.7' : source(i);
    const dport = scan ? 1 + (i % 65535) : FLOOD_PORT;
    const sport = scan ? 61000 : 1024 + (i % 60000);
    const seq = fixedIsn ? 12345 : (i * 2654435761) >>> 0;
    write(time, tcpFrame({ src, dst: FLOOD_SERVER, sport, dport, seq, ack: 0, flags: 'S', mss: 1460, sackOk: true, wscale: 7 }));
    if (answer === 'rst') write(time + 0.0001, tcpFrame({ src: FLOOD_SERVER, dst: src, sport: dport, dport: sport, seq: 0, ack: (seq + 1) >>> 0, flags: 'RA', window: 0 }));
    else if (answer === 'synack-rst') {
      write(time + 0.0001, tcpFrame({ src: FLOOD_SERVER, dst: src, sport: dport, dport: sport, seq: 77777, ack: (seq + 1) >>> 0, flags: 'SA', mss: 1460 }));
      write(time + 0.0002, tcpFrame({ src, dst: FLOOD_SERVER, sport, dport, seq: (seq + 1) >>> 0, ack: 0, flags: 'R', window: 0 }));
    }
    if (i % every === every - 1 && alb.length < real) {
      // A real client: handshake, a request, a 502 answer, close.
      const cport = 40000 + alb.length;
      const talk = new Talk(['10.0.0.5', cport], [FLOOD_SERVER, FLOOD_PORT]);
      talk.handshake(time);
      talk.send(0, time + 0.004, 'GET /cart HTTP/1.1\r\nHost: shop.example\r\n\r\n');
      talk.send(1, time + 0.005, 'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      talk.fin(0, time + 0.006);
      talk.fin(1, time + 0.007);
      talk.ack(0, time + 0.008);
      for (const f of talk.frames) write(f.time, f.frame);
      alb.push(albLine(time + 0.005, '10.0.0.5', cport));
    }
  }
  w.close();
  const albLog = `${prefix}.alb.log`;
  writeFileSync(albLog, alb.map((l) => `${l}\n`).join(''));
  return { capture, albLog };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 100_000);
  const prefix = process.argv[3] ?? `bench/out/synflood-${n}`;
  const r = generateSynFlood(n, prefix, { real: Number(process.argv[4] ?? 10), scan: process.argv[5] === 'scan' });
  console.log(`${r.capture} (${n} SYNs), ${r.albLog}`);
}
