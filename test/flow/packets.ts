/**
 * A small encoder for test packets: Ethernet + IPv4/IPv6 + TCP with correct checksums, optionally
 * wrapped in VXLAN (as AWS Traffic Mirroring sends it), and a `Talk` helper that keeps each side's
 * sequence numbers so tests read like a ladder diagram.
 */
import { finish, pseudoSum4, pseudoSum6, sumBytes } from '../../src/wire/checksum.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { parseIpv6 } from '../../src/wire/ipv6.js';

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** Letters: S SYN, A ACK, F FIN, R RST, P PSH. */
  flags: string;
  window?: number;
  payload?: Uint8Array | string;
  mss?: number;
  wscale?: number;
  sackOk?: boolean;
  ts?: [number, number];
  ipId?: number;
}

const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16 };

function bytesOf(p: Uint8Array | string | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === 'string' ? new Uint8Array(Buffer.from(p, 'latin1')) : p;
}

/** Ethernet frame carrying one TCP segment. */
export function tcpFrame(t: TcpSpec): Uint8Array {
  const v6 = t.src.includes(':');
  const payload = bytesOf(t.payload);
  const opts: number[] = [];
  if (t.mss !== undefined) opts.push(2, 4, t.mss >>> 8, t.mss & 0xff);
  if (t.sackOk) opts.push(4, 2);
  if (t.ts) opts.push(8, 10, ...u32(t.ts[0]), ...u32(t.ts[1]));
  if (t.wscale !== undefined) opts.push(1, 3, 3, t.wscale);
  while (opts.length % 4) opts.push(1);
  const tcpLen = 20 + opts.length + payload.length;
  const ipHdr = v6 ? 40 : 20;
  const frame = new Uint8Array(14 + ipHdr + tcpLen);
  const dv = new DataView(frame.buffer);
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  dv.setUint16(12, v6 ? 0x86dd : 0x0800);
  const ip = 14;
  const tcp = ip + ipHdr;
  let pseudo: number;
  if (v6) {
    dv.setUint32(ip, 0x60000000);
    dv.setUint16(ip + 4, tcpLen);
    frame[ip + 6] = 6;
    frame[ip + 7] = 64;
    if (!parseIpv6(t.src, frame, ip + 8) || !parseIpv6(t.dst, frame, ip + 24)) throw new Error('bad IPv6 address');
    pseudo = pseudoSum6(frame, ip + 8, ip + 24, 6, tcpLen);
  } else {
    frame[ip] = 0x45;
    dv.setUint16(ip + 2, 20 + tcpLen);
    dv.setUint16(ip + 4, t.ipId ?? 0);
    dv.setUint16(ip + 6, 0x4000);
    frame[ip + 8] = 64;
    frame[ip + 9] = 6;
    dv.setUint32(ip + 12, parseIpv4(t.src));
    dv.setUint32(ip + 16, parseIpv4(t.dst));
    dv.setUint16(ip + 10, finish(sumBytes(frame, ip, 20, 0)));
    pseudo = pseudoSum4(parseIpv4(t.src), parseIpv4(t.dst), 6, tcpLen);
  }
  dv.setUint16(tcp, t.sport);
  dv.setUint16(tcp + 2, t.dport);
  dv.setUint32(tcp + 4, t.seq >>> 0);
  dv.setUint32(tcp + 8, t.ack >>> 0);
  frame[tcp + 12] = ((20 + opts.length) / 4) << 4;
  let fl = 0;
  for (const ch of t.flags) fl |= FLAG_BITS[ch] ?? 0;
  frame[tcp + 13] = fl;
  dv.setUint16(tcp + 14, t.window ?? 65535);
  frame.set(opts, tcp + 20);
  frame.set(payload, tcp + 20 + opts.length);
  dv.setUint16(tcp + 16, finish(sumBytes(frame, tcp, tcpLen, pseudo)));
  return frame;
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Wraps an Ethernet frame in Ethernet/IPv4/UDP 4789/VXLAN, as Traffic Mirroring delivers it. */
export function vxlanWrap(inner: Uint8Array, vni: number, outerSrc = '10.0.0.10', outerDst = '10.0.0.99', sport = 40000): Uint8Array {
  const out = new Uint8Array(14 + 20 + 8 + 8 + inner.length);
  const dv = new DataView(out.buffer);
  out.set([2, 0, 0, 0, 0, 0x99, 2, 0, 0, 0, 0, 0x10], 0);
  dv.setUint16(12, 0x0800);
  const ip = 14;
  out[ip] = 0x45;
  dv.setUint16(ip + 2, out.length - 14);
  dv.setUint16(ip + 6, 0x4000);
  out[ip + 8] = 64;
  out[ip + 9] = 17;
  dv.setUint32(ip + 12, parseIpv4(outerSrc));
  dv.setUint32(ip + 16, parseIpv4(outerDst));
  dv.setUint16(ip + 10, finish(sumBytes(out, ip, 20, 0)));
  const udp = ip + 20;
  dv.setUint16(udp, sport);
  dv.setUint16(udp + 2, 4789);
  dv.setUint16(udp + 4, 8 + 8 + inner.length);
  // UDP checksum 0: allowed for IPv4 (AWS sends it so).
  const vx = udp + 8;
  out[vx] = 0x08;
  dv.setUint32(vx + 4, (vni << 8) >>> 0);
  out.set(inner, vx + 8);
  return out;
}

export interface TimedFrame {
  time: number;
  frame: Uint8Array;
}

/**
 * One TCP conversation: keeps each side's next sequence number and last ACK so tests are written
 * as "client sends 'GET /'", "server ACKs"... Frames are collected in `frames`.
 */
export class Talk {
  readonly frames: TimedFrame[] = [];
  /** Next sequence number of client (0) and server (1). */
  readonly nxt: [number, number];
  private ipId: [number, number] = [100, 5000];
  tsBase = 0;
  window: [number, number] = [502, 509];

  constructor(
    readonly client: [string, number],
    readonly server: [string, number],
    isnClient = 1000,
    isnServer = 5000,
    readonly options: { timestamps?: boolean; wscale?: number } = {},
  ) {
    this.nxt = [isnClient >>> 0, isnServer >>> 0];
  }

  /** Builds (does not record) a frame from side `from` (0 client, 1 server). */
  build(from: 0 | 1, flags: string, time: number, extra: Partial<TcpSpec> = {}): Uint8Array {
    const [s, d] = from === 0 ? [this.client, this.server] : [this.server, this.client];
    const spec: TcpSpec = {
      src: s[0],
      dst: d[0],
      sport: s[1],
      dport: d[1],
      seq: this.nxt[from],
      ack: flags.includes('A') ? this.nxt[1 - from]! : 0,
      flags,
      window: this.window[from],
      ipId: this.ipId[from]++,
      ...extra,
    };
    if (this.options.timestamps) spec.ts = [Math.floor(time * 1000) >>> 0, 0];
    return tcpFrame(spec);
  }

  private push(time: number, frame: Uint8Array): TimedFrame {
    const f = { time, frame };
    this.frames.push(f);
    return f;
  }

  syn(time: number): TimedFrame {
    const f = this.push(time, this.build(0, 'S', time, { mss: 1460, sackOk: true, wscale: this.options.wscale, window: 64240 }));
    this.nxt[0] = (this.nxt[0] + 1) >>> 0;
    return f;
  }

  /** A SYN retry: same ISN as the first SYN. */
  synRetry(time: number): TimedFrame {
    return this.push(time, this.build(0, 'S', time, { seq: (this.nxt[0] - 1) >>> 0, mss: 1460, sackOk: true, window: 64240 }));
  }

  synAck(time: number): TimedFrame {
    const f = this.push(time, this.build(1, 'SA', time, { mss: 1460, sackOk: true, wscale: this.options.wscale, window: 65160 }));
    this.nxt[1] = (this.nxt[1] + 1) >>> 0;
    return f;
  }

  ack(from: 0 | 1, time: number, extra: Partial<TcpSpec> = {}): TimedFrame {
    return this.push(time, this.build(from, 'A', time, extra));
  }

  handshake(t: number, rtt = 0.001): number {
    this.syn(t);
    this.synAck(t + rtt / 2);
    this.ack(0, t + rtt);
    return t + rtt;
  }

  send(from: 0 | 1, time: number, payload: string | Uint8Array, extra: Partial<TcpSpec> = {}): TimedFrame {
    const p = bytesOf(payload);
    const f = this.push(time, this.build(from, 'PA', time, { payload: p, ...extra }));
    this.nxt[from] = (this.nxt[from] + p.length) >>> 0;
    return f;
  }

  fin(from: 0 | 1, time: number): TimedFrame {
    const f = this.push(time, this.build(from, 'FA', time));
    this.nxt[from] = (this.nxt[from] + 1) >>> 0;
    return f;
  }

  rst(from: 0 | 1, time: number, withAck = true): TimedFrame {
    return this.push(time, this.build(from, withAck ? 'RA' : 'R', time, { window: 0 }));
  }
}
