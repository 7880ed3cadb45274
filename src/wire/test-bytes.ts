/**
 * Test helpers (used by *.test.ts only): hex dumps to bytes, and small builders that fill in the
 * length fields of hand-written headers so tests can show each header as a commented hex dump.
 */
import type { PacketDecoder } from './packet.js';
import { ipv6ToString } from './ipv6.js';

/** Bytes from a hex dump; `#` starts a comment to the end of the line, whitespace is ignored. */
export function hex(dump: string): Uint8Array {
  const clean = dump.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex dump: ${clean}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Ethernet II header: dst 02:00:00:00:00:02, src 02:00:00:00:00:01, the given EtherType. */
export function eth(etherType: number): Uint8Array {
  return concat(hex('02 00 00 00 00 02  02 00 00 00 00 01'), u16(etherType));
}

export function u16(n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 0xff);
}

/** 20-byte IPv4 header (no options, DF, TTL 64, checksum 0) around `payload`. */
export function ipv4(src: string, dst: string, protocol: number, payload: Uint8Array): Uint8Array {
  const h = hex('45 00 0000  0001 4000  40 00 0000  00000000 00000000');
  const total = 20 + payload.length;
  h[2] = total >>> 8;
  h[3] = total & 0xff;
  h[9] = protocol;
  h.set(src.split('.').map(Number), 12);
  h.set(dst.split('.').map(Number), 16);
  return concat(h, payload);
}

/** 8-byte UDP header (checksum 0) around `payload`. */
export function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  return concat(u16(sport), u16(dport), u16(8 + payload.length), hex('0000'), payload);
}

/** 20-byte TCP header without options. */
export function tcp(sport: number, dport: number, seq: number, ack: number, flags: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new Uint8Array(20);
  h.set(u16(sport), 0);
  h.set(u16(dport), 2);
  new DataView(h.buffer).setUint32(4, seq >>> 0);
  new DataView(h.buffer).setUint32(8, ack >>> 0);
  h[12] = 0x50;
  h[13] = flags;
  h.set(u16(65535), 14);
  return concat(h, payload);
}

/** VXLAN header with the I flag and the given VNI. */
export function vxlan(vni: number): Uint8Array {
  return Uint8Array.of(0x08, 0, 0, 0, (vni >>> 16) & 0xff, (vni >>> 8) & 0xff, vni & 0xff, 0);
}

// AWS Gateway Load Balancer GENEVE header: three options of class 0x0108 (aws-facts §2).
export const GENEVE_GWLB = `
  08 00 08 00   # version 0, opt len 8 words (32 bytes), O=0 C=0, protocol 0x0800 (IPv4)
  00 00 00 00   # VNI 0
  01 08 01 02   # class 0x0108 (AWS), type 1 (GWLB endpoint id), length 2 words
  0a 1b 2c 3d 4e 5f 60 71
  01 08 02 02   # type 2 (attachment id)
  00 00 00 00 00 00 00 2a
  01 08 03 01   # type 3 (flow cookie), 1 word
  ca fe f0 0d
`;

/** A view of `buf` that throws on reading an index outside [lo, hi). */
export function guarded(buf: Uint8Array, lo: number, hi: number): Uint8Array {
  return new Proxy(buf, {
    get(t, k) {
      if (typeof k === 'string' && k.length > 0 && k.charCodeAt(0) >= 48 && k.charCodeAt(0) <= 57) {
        const n = Number(k);
        if (Number.isInteger(n)) {
          if (n < lo || n >= hi) throw new RangeError(`read of byte ${n} outside [${lo}, ${hi})`);
          return t[n];
        }
      }
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/**
 * Reads every address a decoded packet offers as text: the innermost and the outermost IP's
 * source and destination, and the header an ICMP error quotes. Over a `guarded` buffer, this
 * checks that no view left by decode() points outside the frame (address offsets are not
 * re-checked by the readers: they rely on check()).
 */
export function readEveryAddress(d: PacketDecoder): string[] {
  const out = [d.srcAddrString(), d.dstAddrString(), d.outerSrcAddrString(), d.outerDstAddrString()];
  const ic = d.icmp;
  if (d.icmpOk && ic.embeddedIpVersion === 6) out.push(ipv6ToString(d.data, ic.embeddedIp6.srcOffset), ipv6ToString(d.data, ic.embeddedIp6.dstOffset));
  return out;
}
