/**
 * pcapng writer (draft-ietf-opsawg-pcapng): one Section Header Block, Interface Description Blocks,
 * Enhanced Packet Blocks and Decryption Secrets Blocks, little-endian.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                          Block Type                           |
 * +---------------------------------------------------------------+
 * |                      Block Total Length                       |
 * +---------------------------------------------------------------+
 * /                   Block Body (padded to 32 bits)              /
 * +---------------------------------------------------------------+
 * |                      Block Total Length                       |
 * +---------------------------------------------------------------+
 * ```
 *
 * I/O is synchronous through an internal buffer that only ever holds whole blocks, so:
 * - a SIGTERM handler can call `flush()` / `close()` and the file is complete;
 * - a process killed mid-write (kill -9) leaves a file readable up to its last complete block
 *   (the reader reports the cut-off tail as a warning).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

/** Block type codes (pcapng §4). */
export const BlockType = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  DSB: 0x0000000a,
  CB_COPY: 0x00000bad,
  CB_NOCOPY: 0x40000bad,
  /** Obsolete Packet Block. */
  OPB: 0x00000002,
} as const;

/** Option codes used by the writer and reader. */
export const Opt = {
  endofopt: 0,
  comment: 1,
  shb_hardware: 2,
  shb_os: 3,
  shb_userappl: 4,
  if_name: 2,
  if_description: 3,
  if_IPv4addr: 4,
  if_IPv6addr: 5,
  if_MACaddr: 6,
  if_speed: 8,
  if_tsresol: 9,
  if_filter: 11,
  if_os: 12,
  if_fcslen: 13,
  if_tsoffset: 14,
  if_hardware: 15,
  epb_flags: 2,
  epb_dropcount: 4,
  epb_packetid: 5,
  epb_queue: 6,
} as const;

/** Decryption Secrets Block secrets types. */
export const SecretsType = {
  TLSKeyLog: 0x544c534b,
  WireGuardKeyLog: 0x57474b4c,
  SSHKeyLog: 0x5353484b,
  OPCUAKeyLog: 0x55414b4c,
  ZigBeeNWK: 0x5a4e574b,
  ZigBeeAPS: 0x5a415053,
  ESPSA: 0x45535053,
} as const;

/** epb_flags direction bits (bits 0-1). */
export const EpbFlags = {
  inbound: 0x1,
  outbound: 0x2,
} as const;

export interface InterfaceSpec {
  /** LINKTYPE_* value (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2, ...). */
  linkType: number;
  /** if_name, e.g. "vxlan-vni-123" or "geneve-endpoint-vpce-0abc". */
  name?: string;
  /** if_description. */
  description?: string;
  /** Maximum bytes kept per packet; 0 (default) = no limit. Longer packets are cut and keep their original length. */
  snaplen?: number;
  /**
   * if_tsresol byte: 0..9 means 10^-n seconds, 0x80|n (n ≤ 30) means 2^-n seconds. Default 9 (nanoseconds).
   */
  tsresol?: number;
  options?: {
    comment?: string;
    os?: string;
    hardware?: string;
    /** Capture filter as libpcap text (if_filter type 0). */
    filter?: string;
    /** Interface speed in bits per second. */
    speedBps?: number;
    /** if_tsoffset in seconds: stored timestamps are relative to it. `writePacket` still takes absolute times. */
    tsOffsetSec?: number;
  };
}

/**
 * Where blocks go: a file the writer creates, an open fd, or a callback. A callback gets a copy of
 * the bytes (it may keep them) unless it declares `consumesSynchronously: true`: it is done with
 * them when `write` returns (e.g. it calls writeSync), so the writer hands it a view of its own
 * buffer. That copy cost `listen` a fresh 1 MiB allocation and 1 MiB memcpy per flush, about a
 * third of its own per-packet CPU (bench/listen/handler.ts, see docs/listen.md).
 */
export type PcapngSink = { path: string } | { fd: number } | { write(buf: Uint8Array): void; consumesSynchronously?: boolean };

export interface PcapngWriterOptions {
  shb?: { hardware?: string; os?: string; userAppl?: string; comment?: string };
  /** Internal buffer size in bytes (default 1 MiB). Blocks larger than it are written directly. */
  bufferSize?: number;
}

interface IfState {
  snaplen: number;
  /** true: decimal resolution 10^-exp; false: binary 2^-exp. */
  decimal: boolean;
  exp: number;
  /** units per second */
  unitsPerSec: number;
  tsOffsetSec: number;
}

const encoder = new TextEncoder();
const TWO32 = 0x100000000;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${name} must be an integer in 0..2^32-1, got ${v}`);
}

/** Options encoder: collects (code, value) pairs then writes them into a block body. */
class OptionList {
  readonly items: { code: number; value: Uint8Array }[] = [];
  str(code: number, s: string | undefined | null): this {
    if (s !== undefined && s !== null) this.bytes(code, encoder.encode(s));
    return this;
  }
  bytes(code: number, b: Uint8Array): this {
    if (b.length > 0xffff) throw new RangeError(`pcapng option ${code} is ${b.length} bytes, the limit is 65535`);
    this.items.push({ code, value: b });
    return this;
  }
  u8(code: number, v: number): this {
    return this.bytes(code, Uint8Array.of(v & 0xff));
  }
  u32(code: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.bytes(code, b);
  }
  u64(code: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(Math.trunc(v))), true);
    return this.bytes(code, b);
  }
  /** Encoded size including opt_endofopt, or 0 when empty. */
  size(): number {
    if (this.items.length === 0) return 0;
    let n = 4;
    for (const it of this.items) n += 4 + pad4(it.value.length);
    return n;
  }
  write(dv: DataView, u8: Uint8Array, at: number): number {
    if (this.items.length === 0) return at;
    for (const it of this.items) {
      dv.setUint16(at, it.code, true);
      dv.setUint16(at + 2, it.value.length, true);
      u8.set(it.value, at + 4);
      const padded = pad4(it.value.length);
      u8.fill(0, at + 4 + it.value.length, at + 4 + padded);
      at += 4 + padded;
    }
    dv.setUint32(at, 0, true); // opt_endofopt
    return at + 4;
  }
}

export class PcapngWriter {
  /** Bytes of complete blocks produced so far (flushed or still buffered): the file size after flush(). */
  bytesWritten = 0;
  /** Packets written. */
  packets = 0;

  private buf: Uint8Array;
  private dv: DataView;
  private used = 0;
  private fd = -1;
  private ownsFd = false;
  private readonly sinkWrite: ((b: Uint8Array) => void) | null = null;
  /** The sink callback is done with the bytes when it returns: pass a view, not a copy. */
  private readonly sinkBorrows: boolean = false;
  private readonly label: string;
  private readonly ifs: IfState[] = [];
  private closed = false;

  constructor(sink: PcapngSink, opts: PcapngWriterOptions = {}) {
    const size = opts.bufferSize ?? 1 << 20;
    if (!Number.isInteger(size) || size < 64) throw new RangeError(`bufferSize must be an integer ≥ 64, got ${size}`);
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
    if ('path' in sink) {
      this.label = sink.path;
      try {
        this.fd = openSync(sink.path, 'w');
      } catch (e) {
        throw new MirrorlensError(ErrorCode.CaptureWrite, `cannot create capture file: ${(e as Error).message}`, { file: sink.path }, { cause: e });
      }
      this.ownsFd = true;
    } else if ('fd' in sink) {
      this.label = `fd ${sink.fd}`;
      this.fd = sink.fd;
    } else {
      this.label = 'stream';
      const w = sink.write.bind(sink);
      this.sinkWrite = w;
      this.sinkBorrows = sink.consumesSynchronously === true;
    }
    this.writeShb(opts.shb ?? {});
  }

  /** Number of interfaces added so far. */
  get interfaceCount(): number {
    return this.ifs.length;
  }

  addInterface(spec: InterfaceSpec): number {
    this.assertOpen();
    checkU32('linkType', spec.linkType);
    if (spec.linkType > 0xffff) throw new RangeError(`linkType must fit in 16 bits, got ${spec.linkType}`);
    const snaplen = spec.snaplen ?? 0;
    checkU32('snaplen', snaplen);
    const tsresol = spec.tsresol ?? 9;
    const decimal = (tsresol & 0x80) === 0;
    const exp = tsresol & 0x7f;
    if (!Number.isInteger(tsresol) || tsresol < 0 || tsresol > 0xff || (decimal ? exp > 9 : exp > 30)) {
      throw new RangeError(`tsresol must be 0..9 (10^-n s) or 0x80|n with n ≤ 30 (2^-n s), got ${tsresol}`);
    }
    const o = spec.options ?? {};
    const tsOffsetSec = o.tsOffsetSec ?? 0;
    if (!Number.isSafeInteger(tsOffsetSec)) throw new RangeError(`tsOffsetSec must be an integer, got ${tsOffsetSec}`);
    const opts = new OptionList();
    opts.str(Opt.comment, o.comment);
    opts.str(Opt.if_name, spec.name);
    opts.str(Opt.if_description, spec.description);
    if (o.speedBps !== undefined) opts.u64(Opt.if_speed, o.speedBps);
    if (tsresol !== 6) opts.u8(Opt.if_tsresol, tsresol);
    if (o.filter !== undefined) {
      const f = encoder.encode(o.filter);
      const b = new Uint8Array(f.length + 1);
      b[0] = 0; // libpcap filter string
      b.set(f, 1);
      opts.bytes(Opt.if_filter, b);
    }
    opts.str(Opt.if_os, o.os);
    if (tsOffsetSec !== 0) opts.u64(Opt.if_tsoffset, tsOffsetSec);
    opts.str(Opt.if_hardware, o.hardware);
    const total = 16 + opts.size() + 4;
    const at = this.reserve(total);
    const dv = this.dv;
    dv.setUint32(at, BlockType.IDB, true);
    dv.setUint32(at + 4, total, true);
    dv.setUint16(at + 8, spec.linkType, true);
    dv.setUint16(at + 10, 0, true);
    dv.setUint32(at + 12, snaplen, true);
    const end = opts.write(dv, this.buf, at + 16);
    dv.setUint32(end, total, true);
    this.commit(total);
    this.ifs.push({ snaplen, decimal, exp, unitsPerSec: decimal ? 10 ** exp : 2 ** exp, tsOffsetSec });
    return this.ifs.length - 1;
  }

  /**
   * Appends an Enhanced Packet Block. `tsSec`/`tsNsec` are absolute (Unix epoch); they are stored in
   * the interface's resolution. Bytes beyond the interface snaplen are cut; `originalLength`
   * (default `length`) is kept.
   */
  writePacket(
    ifId: number,
    tsSec: number,
    tsNsec: number,
    data: Uint8Array,
    offset: number,
    length: number,
    originalLength?: number,
    comment?: string | null,
    flags?: number,
  ): void {
    this.assertOpen();
    const itf = this.ifs[ifId];
    if (itf === undefined) throw new RangeError(`unknown interface id ${ifId} (${this.ifs.length} added)`);
    if (offset < 0 || length < 0 || offset + length > data.length) {
      throw new RangeError(`packet bytes out of range: offset ${offset} length ${length} in ${data.length}`);
    }
    const orig = originalLength ?? length;
    if (orig < length) throw new RangeError(`originalLength ${orig} is less than the captured length ${length}`);
    checkU32('originalLength', orig);
    const cap = itf.snaplen !== 0 && length > itf.snaplen ? itf.snaplen : length;
    let commentBytes: Uint8Array | null = null;
    let optSize = 0;
    if (comment !== undefined && comment !== null) {
      commentBytes = encoder.encode(comment);
      if (commentBytes.length > 0xffff) throw new RangeError(`packet comment is ${commentBytes.length} bytes, the limit is 65535`);
      optSize += 4 + pad4(commentBytes.length);
    }
    if (flags !== undefined) optSize += 8;
    if (optSize !== 0) optSize += 4;
    const total = 28 + pad4(cap) + optSize + 4;
    // Timestamp as one 64-bit count of units (exact: split in 16-bit limbs, see tsUnits()).
    const sec = tsSec - itf.tsOffsetSec;
    if (!Number.isInteger(sec) || sec < 0 || sec >= TWO32 * 4) throw new RangeError(`timestamp seconds out of range: ${tsSec}`);
    if (!Number.isInteger(tsNsec) || tsNsec < 0 || tsNsec > 999_999_999) throw new RangeError(`tsNsec must be 0..999999999, got ${tsNsec}`);
    // Exact floors: decimal quotients and small binary ones are exact in doubles; 2^-n with n > 20 goes through BigInt.
    const frac = itf.decimal
      ? Math.floor(tsNsec / 10 ** (9 - itf.exp))
      : itf.exp <= 20
        ? Math.floor((tsNsec * itf.unitsPerSec) / 1e9)
        : Number((BigInt(tsNsec) << BigInt(itf.exp)) / 1_000_000_000n);
    const sh = Math.floor(sec / 65536);
    const sl = sec - sh * 65536;
    const y = sh * itf.unitsPerSec; // < 2^18 * 2^30
    const x = sl * itf.unitsPerSec + frac; // < 2^47
    const t = (y % 65536) * 65536 + x;
    const lo = t % TWO32;
    const hi = Math.floor(y / 65536) + Math.floor(t / TWO32);

    const at = this.reserve(total);
    const dv = this.dv;
    const u8 = this.buf;
    dv.setUint32(at, BlockType.EPB, true);
    dv.setUint32(at + 4, total, true);
    dv.setUint32(at + 8, ifId, true);
    dv.setUint32(at + 12, hi, true);
    dv.setUint32(at + 16, lo, true);
    dv.setUint32(at + 20, cap, true);
    dv.setUint32(at + 24, orig, true);
    u8.set(data.subarray(offset, offset + cap), at + 28);
    let p = at + 28 + cap;
    const pe = at + 28 + pad4(cap);
    while (p < pe) u8[p++] = 0;
    if (optSize !== 0) {
      if (commentBytes !== null) {
        dv.setUint16(p, Opt.comment, true);
        dv.setUint16(p + 2, commentBytes.length, true);
        u8.set(commentBytes, p + 4);
        const e = p + 4 + pad4(commentBytes.length);
        p += 4 + commentBytes.length;
        while (p < e) u8[p++] = 0;
      }
      if (flags !== undefined) {
        dv.setUint16(p, Opt.epb_flags, true);
        dv.setUint16(p + 2, 4, true);
        dv.setUint32(p + 4, flags >>> 0, true);
        p += 8;
      }
      dv.setUint32(p, 0, true);
      p += 4;
    }
    dv.setUint32(p, total, true);
    this.commit(total);
    this.packets++;
  }

  /** Appends a Decryption Secrets Block (e.g. SecretsType.TLSKeyLog with NSS key log lines). */
  writeSecrets(type: number, data: Uint8Array): void {
    this.assertOpen();
    checkU32('secrets type', type);
    const total = 16 + pad4(data.length) + 4;
    const at = this.reserve(total);
    const dv = this.dv;
    dv.setUint32(at, BlockType.DSB, true);
    dv.setUint32(at + 4, total, true);
    dv.setUint32(at + 8, type, true);
    dv.setUint32(at + 12, data.length, true);
    this.buf.set(data, at + 16);
    this.buf.fill(0, at + 16 + data.length, at + 16 + pad4(data.length));
    dv.setUint32(at + 16 + pad4(data.length), total, true);
    this.commit(total);
  }

  /** Writes buffered blocks to the sink. */
  flush(): void {
    if (this.used === 0) return;
    const n = this.used;
    this.used = 0;
    this.emit(this.buf, 0, n);
  }

  /** Flushes and closes the file if the writer opened it (a passed fd stays open). Idempotent. */
  close(): void {
    if (this.closed) return;
    let err: unknown = null;
    try {
      this.flush();
    } catch (e) {
      err = e;
    }
    this.closed = true;
    if (this.ownsFd) {
      try {
        closeSync(this.fd);
      } catch (e) {
        err ??= this.ioError(e);
      }
    }
    if (err !== null) throw err;
  }

  private writeShb(shb: NonNullable<PcapngWriterOptions['shb']>): void {
    const opts = new OptionList();
    opts.str(Opt.comment, shb.comment);
    opts.str(Opt.shb_hardware, shb.hardware);
    opts.str(Opt.shb_os, shb.os);
    opts.str(Opt.shb_userappl, shb.userAppl);
    const total = 24 + opts.size() + 4;
    const at = this.reserve(total);
    const dv = this.dv;
    dv.setUint32(at, BlockType.SHB, true);
    dv.setUint32(at + 4, total, true);
    dv.setUint32(at + 8, 0x1a2b3c4d, true);
    dv.setUint16(at + 12, 1, true);
    dv.setUint16(at + 14, 0, true);
    dv.setInt32(at + 16, -1, true); // section length unknown (-1 as int64)
    dv.setInt32(at + 20, -1, true);
    const end = opts.write(dv, this.buf, at + 24);
    dv.setUint32(end, total, true);
    this.commit(total);
  }

  /** Returns the offset at which a block of `total` bytes can be built in the buffer. */
  private reserve(total: number): number {
    if (this.used + total <= this.buf.length) return this.used;
    this.flush();
    if (total > this.buf.length) {
      // A block bigger than the buffer: grow the buffer for it (written whole, then shrunk back).
      const old = this.buf;
      this.buf = new Uint8Array(total);
      this.dv = new DataView(this.buf.buffer);
      this.pendingShrink = old;
    }
    return 0;
  }

  private pendingShrink: Uint8Array | null = null;

  private commit(total: number): void {
    this.used += total;
    this.bytesWritten += total;
    if (this.pendingShrink !== null) {
      this.flush();
      this.buf = this.pendingShrink;
      this.dv = new DataView(this.buf.buffer);
      this.pendingShrink = null;
    }
  }

  private emit(b: Uint8Array, off: number, n: number): void {
    try {
      if (this.sinkWrite !== null) {
        // A copy unless the sink promised not to keep the bytes past the call.
        this.sinkWrite(this.sinkBorrows ? b.subarray(off, off + n) : b.slice(off, off + n));
        return;
      }
      let done = 0;
      while (done < n) done += writeSync(this.fd, b, off + done, n - done);
    } catch (e) {
      throw this.ioError(e);
    }
  }

  private ioError(e: unknown): MirrorlensError {
    if (e instanceof MirrorlensError) return e;
    return new MirrorlensError(ErrorCode.CaptureWrite, `cannot write capture: ${(e as Error).message}`, { file: this.label }, { cause: e });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`PcapngWriter for ${this.label} is closed`);
  }
}
