/**
 * Tiny byte builders for hand-made pcap / pcapng test inputs (either byte order), so tests can
 * produce exactly the block layouts the writer never emits (big-endian sections, SPB, OPB,
 * picosecond resolution, corrupt lengths).
 */

export class Bytes {
  private readonly parts: number[] = [];
  constructor(readonly le = true) {}
  u8(...v: number[]): this {
    for (const x of v) this.parts.push(x & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.le ? this.u8(v, v >>> 8) : this.u8(v >>> 8, v);
  }
  u32(v: number): this {
    return this.le ? this.u8(v, v >>> 8, v >>> 16, v >>> 24) : this.u8(v >>> 24, v >>> 16, v >>> 8, v);
  }
  /** 64-bit value given as (hi, lo) 32-bit halves. */
  u64(hi: number, lo: number): this {
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]! & 0xff);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** An option list: [code, value bytes] pairs, padded, closed by opt_endofopt. */
export function options(le: boolean, opts: [number, ArrayLike<number>][]): Uint8Array {
  if (opts.length === 0) return new Uint8Array(0);
  const b = new Bytes(le);
  for (const [code, v] of opts) b.u16(code).u16(v.length).bytes(v).pad4();
  return b.u16(0).u16(0).build();
}

/** A whole pcapng block with both length fields filled in. */
export function block(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  return new Bytes(le).u32(type).u32(total).bytes(body).pad4().u32(total).build();
}

export function shb(le: boolean, opts: [number, ArrayLike<number>][] = []): Uint8Array {
  const body = new Bytes(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).bytes(options(le, opts)).build();
  return block(le, 0x0a0d0d0a, body);
}

export function idb(le: boolean, linkType: number, snaplen: number, opts: [number, ArrayLike<number>][] = []): Uint8Array {
  return block(le, 1, new Bytes(le).u16(linkType).u16(0).u32(snaplen).bytes(options(le, opts)).build());
}

export function epb(le: boolean, ifId: number, tsHi: number, tsLo: number, data: ArrayLike<number>, origLen = data.length, opts: [number, ArrayLike<number>][] = []): Uint8Array {
  return block(le, 6, new Bytes(le).u32(ifId).u32(tsHi).u32(tsLo).u32(data.length).u32(origLen).bytes(data).pad4().bytes(options(le, opts)).build());
}

export function spb(le: boolean, data: ArrayLike<number>, origLen = data.length): Uint8Array {
  return block(le, 3, new Bytes(le).u32(origLen).bytes(data).build());
}

export function opb(le: boolean, ifId: number, tsHi: number, tsLo: number, data: ArrayLike<number>, origLen = data.length): Uint8Array {
  return block(le, 2, new Bytes(le).u16(ifId).u16(0).u32(tsHi).u32(tsLo).u32(data.length).u32(origLen).bytes(data).build());
}

export function dsb(le: boolean, type: number, data: ArrayLike<number>): Uint8Array {
  return block(le, 10, new Bytes(le).u32(type).u32(data.length).bytes(data).build());
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A minimal IPv4/UDP packet of `n` bytes (n ≥ 28) so tshark has something to dissect. */
export function ipv4Udp(n: number, seed = 0): Uint8Array {
  const p = new Uint8Array(n);
  p[0] = 0x45;
  p[2] = n >>> 8;
  p[3] = n & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set([10, 0, 0, 1, 10, 0, 0, 2], 12);
  p[20] = 0x30;
  p[21] = 0x39;
  p[22] = 0x00;
  p[23] = 0x35;
  p[24] = (n - 20) >>> 8;
  p[25] = (n - 20) & 0xff;
  for (let i = 28; i < n; i++) p[i] = (i + seed) & 0xff;
  return p;
}
