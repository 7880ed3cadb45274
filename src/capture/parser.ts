/**
 * CaptureParser: a synchronous push parser for classic pcap and pcapng (pg-protocol style: a
 * remainder buffer and cursors). Feed it any chunking of the bytes with `push(chunk)`, then
 * `end()`; it calls back once per packet with a reused PacketRecord.
 *
 * Memory: complete units (pcap header, pcap record, pcapng block) are parsed in place from the
 * pushed chunk. Only a unit that straddles two chunks is copied, and only up to its own length,
 * into a remainder buffer; unit lengths are capped (MAX_BLOCK), so the parser holds at most one
 * unit beyond the chunk: `maxBuffered` reports the high-water mark.
 *
 * pcap (draft-ietf-opsawg-pcap):
 * ```
 * file header (24)  magic | major(16) minor(16) | reserved1 | reserved2 | snaplen | linktype+FCS
 * record header (16) ts_sec | ts_usec or ts_nsec | captured length | original length | data...
 * ```
 * pcapng (draft-ietf-opsawg-pcapng): blocks `type | total length | body | total length`, each
 * section opens with a Section Header Block whose byte-order magic 0x1A2B3C4D sets endianness.
 *
 * Problems in the bytes never throw (except "this is not a capture at all", one MirrorlensError
 * ML_CAPTURE_FORMAT naming the file): they become warnings with a byte offset, and a corrupt
 * length stops parsing (a bad length leaves no trustworthy place to resume). Every loop advances
 * by a validated length ≥ 12 bytes or returns, so no input can make it spin.
 */
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { PacketRecord } from './record.js';
import type { CaptureSummary, CaptureWarning, InterfaceInfo } from './record.js';

/** Largest pcapng block / pcap record accepted (Wireshark caps packets at 256 KiB; blocks with secrets can be larger). */
export const MAX_BLOCK = 16 * 1024 * 1024;

/** Interface descriptions kept per file: a bound on memory for hostile files. */
export const MAX_INTERFACES = 65536;

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: 24-byte record headers. */
const PCAP_KUZNETZOV = 0xa1b2cd34;
const SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;
const IDB = 1;
const OPB = 2;
const SPB = 3;
const EPB = 6;
const DSB = 10;

const enum Mode {
  Detect,
  PcapHeader,
  Pcap,
  Pcapng,
  Done,
}

const TWO32 = 0x100000000;
const utf8 = new TextDecoder('utf-8', { fatal: false });

interface IfRt {
  info: InterfaceInfo;
  /** units per second as a number (exact up to 2^53) */
  units: number;
  /** 0: decimal 10^-k with k ≤ 9 (nsMul = 10^(9-k)); 1: generic exact (units ≤ 2^37); 2: BigInt. */
  kind: number;
  nsMul: number;
  unitsBig: bigint;
}

export interface ParserHooks {
  onPacket(rec: PacketRecord): void;
  onSecrets?(type: number, data: Uint8Array, byteOffset: number): void;
  onInterface?(info: InterfaceInfo): void;
  onWarning?(w: CaptureWarning): void;
  maxPackets?: number;
}

function hex(b: Uint8Array, o: number, n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n && o + i < b.length; i++) parts.push(b[o + i]!.toString(16).padStart(2, '0'));
  return parts.join(' ');
}

export class CaptureParser {
  readonly file: string;
  format: 'pcap' | 'pcapng' | null = null;
  /** Packets delivered. */
  packets = 0;
  /** Bytes consumed (parsed or skipped) so far. */
  bytes = 0;
  warnings = 0;
  readonly warningList: CaptureWarning[] = [];
  /** True when parsing stopped early because of a corrupt unit or a cut-off end. */
  truncated = false;
  /** True once nothing more will be parsed (corrupt input, maxPackets reached, or end()). */
  done = false;
  secretsBlocks = 0;
  readonly interfaces: InterfaceInfo[] = [];
  /** High-water mark of the remainder buffer in bytes (memory bound check). */
  maxBuffered = 0;

  private readonly hooks: ParserHooks;
  private readonly rec = new PacketRecord();
  private mode = Mode.Detect;
  private le = true;
  // pcap
  private pcapNs = false;
  private pcapHdrLen = 16;
  private pcapSnaplen = 0;
  // pcapng section state
  private section = -1;
  private sectionIfs: IfRt[] = [];
  private pcapIf: IfRt | null = null;
  // remainder
  private rem = new Uint8Array(0);
  private remLen = 0;
  /** Absolute stream offset of the first byte in the current working buffer. */
  private base = 0;

  constructor(file: string, hooks: ParserHooks) {
    this.file = file;
    this.hooks = hooks;
  }

  /** Parses as much of `chunk` as is complete; keeps the rest (at most one unit). */
  push(chunk: Uint8Array): void {
    if (this.done) return;
    let pos = 0;
    // 1. Complete the straddling unit in the remainder buffer, copying only what it needs.
    while (this.remLen > 0) {
      this.base = this.bytes;
      let need = this.unitLength(this.rem, 0, this.remLen);
      if (this.done) return;
      if (need < 0) need = -need; // header incomplete: minimum bytes to learn the length
      const take = Math.min(need - this.remLen, chunk.length - pos);
      if (take > 0) {
        this.append(chunk, pos, take);
        pos += take;
      }
      if (this.remLen < need) {
        if (pos >= chunk.length) return;
        continue; // header now complete; learn the full length
      }
      const full = this.unitLength(this.rem, 0, this.remLen);
      if (this.done) return;
      if (full < 0 || full > this.remLen) continue;
      this.base = this.bytes;
      this.parseUnit(this.rem, 0, full);
      this.bytes += full;
      this.remLen = 0;
      if (this.done) return;
    }
    // 2. Parse complete units in place.
    const n = chunk.length;
    while (pos < n) {
      this.base = this.bytes - pos;
      const len = this.unitLength(chunk, pos, n - pos);
      if (this.done) return;
      if (len < 0 || len > n - pos) break;
      this.parseUnit(chunk, pos, len);
      pos += len;
      this.bytes += len;
      if (this.done) return;
    }
    // 3. Keep the incomplete tail.
    if (pos < n) this.append(chunk, pos, n - pos);
  }

  /** Signals the end of input: a leftover partial unit becomes a "cut off" warning. */
  end(): void {
    if (this.done) return;
    if (this.mode === Mode.Detect) {
      if (this.remLen === 0) throw this.formatError('the file is empty, not a pcap or pcapng capture');
      throw this.formatError(`only ${this.remLen} byte(s), not a pcap or pcapng capture`);
    }
    if (this.remLen > 0) {
      const len = this.unitLength(this.rem, 0, this.remLen);
      if (!this.done) {
        const what = this.mode === Mode.Pcapng ? 'block' : this.mode === Mode.PcapHeader ? 'file header' : 'packet record';
        const expect = len < 0 ? 'its header' : `${len} bytes`;
        this.warn(`capture cut off: the last ${what} needs ${expect}, only ${this.remLen} present`, this.bytes);
        this.truncated = true;
      }
      this.bytes += this.remLen;
      this.remLen = 0;
    }
    this.done = true;
  }

  /** What was read, as readCapture gives it (`gzip`: the input was decompressed on the way). */
  summary(gzip: boolean): CaptureSummary {
    return {
      file: this.file,
      format: this.format ?? 'pcap',
      packets: this.packets,
      bytes: this.bytes,
      warnings: this.warnings,
      warningList: this.warningList,
      truncated: this.truncated,
      gzip,
      secretsBlocks: this.secretsBlocks,
      interfaces: this.interfaces,
    };
  }

  /** Stops parsing on purpose (the caller has what it wants): no warning, nothing more delivered. */
  stop(): void {
    this.done = true;
    this.remLen = 0;
  }

  /** Records a problem found outside the parser (e.g. a corrupt gzip stream): warning + truncated + done. */
  warnExternal(message: string, byteOffset: number): void {
    this.warn(message, byteOffset);
    this.truncated = true;
  }

  // ----------------------------------------------------------------------------------------------

  private append(src: Uint8Array, off: number, n: number): void {
    const want = this.remLen + n;
    if (want > this.rem.length) {
      const grown = new Uint8Array(Math.max(want, Math.min(this.rem.length * 2 || 4096, MAX_BLOCK + 64)));
      grown.set(this.rem.subarray(0, this.remLen));
      this.rem = grown;
    }
    this.rem.set(src.subarray(off, off + n), this.remLen);
    this.remLen = want;
    if (this.remLen > this.maxBuffered) this.maxBuffered = this.remLen;
  }

  private u32(b: Uint8Array, o: number): number {
    return this.le
      ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
      : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  private u16(b: Uint8Array, o: number): number {
    return this.le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
  }

  /**
   * Length of the unit starting at `o`: > 0 the full length (validated), < 0 means "need at least
   * -n bytes to know". Sets `done` (with a warning or error) when the length is corrupt.
   */
  private unitLength(b: Uint8Array, o: number, avail: number): number {
    switch (this.mode) {
      case Mode.Detect: {
        if (avail < 4) return -4;
        const m = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
        const mm = m >>> 0;
        if (mm === SHB) {
          this.mode = Mode.Pcapng;
          this.format = 'pcapng';
          return this.unitLength(b, o, avail);
        }
        const swapped = ((b[o + 3]! << 24) | (b[o + 2]! << 16) | (b[o + 1]! << 8) | b[o]!) >>> 0;
        for (const [v, le] of [
          [mm, false],
          [swapped, true],
        ] as const) {
          if (v === PCAP_US || v === PCAP_NS || v === PCAP_KUZNETZOV) {
            this.le = le;
            this.pcapNs = v === PCAP_NS;
            this.pcapHdrLen = v === PCAP_KUZNETZOV ? 24 : 16;
            this.mode = Mode.PcapHeader;
            this.format = 'pcap';
            return 24;
          }
        }
        if (b[o] === 0x1f && b[o + 1] === 0x8b) throw this.formatError('gzip data inside gzip (or not decompressed): not a capture');
        throw this.formatError(`not a pcap or pcapng capture (starts with ${hex(b, o, 8)})`);
      }
      case Mode.PcapHeader:
        return 24;
      case Mode.Pcap: {
        if (avail < this.pcapHdrLen) return -this.pcapHdrLen;
        const cap = this.u32(b, o + 8);
        if (cap > MAX_BLOCK) {
          this.corrupt(`packet record ${this.packets + 1} claims ${cap} captured bytes (limit ${MAX_BLOCK}): corrupt record header`, this.base + o);
          return 0;
        }
        return this.pcapHdrLen + cap;
      }
      case Mode.Pcapng: {
        if (avail < 12) return -12;
        const type = this.u32(b, o);
        if (type === SHB) {
          // A Section Header Block sets the byte order for itself and its section.
          const bom = (b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!;
          if (bom >>> 0 === BOM) this.le = false;
          else if (bom === 0x4d3c2b1a) this.le = true;
          else {
            if (this.section < 0) throw this.formatError(`pcapng section header with an invalid byte-order magic ${hex(b, o + 8, 4)}`);
            this.corrupt(`section header block with an invalid byte-order magic ${hex(b, o + 8, 4)}`, this.base + o);
            return 0;
          }
        }
        const len = this.u32(b, o + 4);
        const min = type === SHB ? 28 : 12;
        if (len < min || (len & 3) !== 0 || len > MAX_BLOCK) {
          const why = len < min ? `below the minimum of ${min}` : (len & 3) !== 0 ? 'not a multiple of 4' : `over the limit of ${MAX_BLOCK}`;
          this.corrupt(`block of type 0x${type.toString(16)} has total length ${len}, ${why}: corrupt block`, this.base + o);
          return 0;
        }
        return len;
      }
      default:
        return 0;
    }
  }

  private parseUnit(b: Uint8Array, o: number, len: number): void {
    switch (this.mode) {
      case Mode.PcapHeader:
        this.pcapHeader(b, o);
        return;
      case Mode.Pcap:
        this.pcapRecord(b, o, len);
        return;
      case Mode.Pcapng:
        this.pcapngBlock(b, o, len);
        return;
      default:
        return;
    }
  }

  private pcapHeader(b: Uint8Array, o: number): void {
    const major = this.u16(b, o + 4);
    const minor = this.u16(b, o + 6);
    const snaplen = this.u32(b, o + 16);
    const lt = this.u32(b, o + 20);
    if (major !== 2) this.warn(`pcap version ${major}.${minor} (expected 2.4); reading it as 2.4`, o + 4);
    this.pcapSnaplen = snaplen;
    const fcs = (lt & 0x04000000) !== 0 ? ((lt >>> 28) & 0xf) * 2 : null;
    const info = this.newInterface(lt & 0xffff, snaplen, this.pcapNs ? 9 : 6, 0, 0);
    info.info.fcsLength = fcs;
    this.pcapIf = info;
    this.mode = Mode.Pcap;
    this.hooks.onInterface?.(info.info);
  }

  private pcapRecord(b: Uint8Array, o: number, len: number): void {
    const itf = this.pcapIf!;
    const r = this.rec;
    const sec = this.u32(b, o);
    const frac = this.u32(b, o + 4);
    r.originalLength = this.u32(b, o + 12);
    r.capturedLength = len - this.pcapHdrLen;
    r.tsSec = sec;
    r.tsNsec = this.pcapNs ? frac : frac * 1000;
    if (r.tsNsec > 999_999_999) {
      // Out-of-range fraction (some writers): carry into seconds as libpcap readers do.
      r.tsSec += Math.floor(r.tsNsec / 1e9);
      r.tsNsec %= 1e9;
    }
    r.interfaceId = 0;
    r.linkType = itf.info.linkType;
    r.comment = null;
    r.flags = 0;
    this.deliver(b, o + this.pcapHdrLen, o);
  }

  private pcapngBlock(b: Uint8Array, o: number, len: number): void {
    const type = this.u32(b, o);
    const trailer = this.u32(b, o + len - 4);
    if (trailer !== len) {
      this.corrupt(`block of type 0x${type.toString(16)} has total length ${len} but its trailing copy says ${trailer}: corrupt block`, this.base + o);
      return;
    }
    if (this.section < 0 && type !== SHB) {
      throw this.formatError('pcapng file does not start with a section header block');
    }
    switch (type) {
      case SHB: {
        const major = this.u16(b, o + 12);
        const minor = this.u16(b, o + 14);
        if (major !== 1) {
          if (this.section < 0) throw this.formatError(`unsupported pcapng version ${major}.${minor}`);
          this.corrupt(`section header with unsupported pcapng version ${major}.${minor}`, this.base + o);
          return;
        }
        this.section++;
        this.sectionIfs = [];
        return;
      }
      case IDB:
        this.idb(b, o, len);
        return;
      case EPB:
        this.packetBlock(b, o, len, true);
        return;
      case SPB:
        this.spb(b, o, len);
        return;
      case OPB:
        this.packetBlock(b, o, len, false);
        return;
      case DSB: {
        if (len < 20) {
          this.warn(`decryption secrets block of ${len} bytes is too short; skipped`, this.base + o);
          return;
        }
        const stype = this.u32(b, o + 8);
        const slen = this.u32(b, o + 12);
        if (slen > len - 20) {
          this.warn(`decryption secrets block says ${slen} bytes of secrets, only ${len - 20} fit; skipped`, this.base + o);
          return;
        }
        this.secretsBlocks++;
        this.hooks.onSecrets?.(stype, b.subarray(o + 16, o + 16 + slen), this.base + o);
        return;
      }
      default:
        return; // NRB, ISB, custom, local and unknown blocks: skipped by length
    }
  }

  private idb(b: Uint8Array, o: number, len: number): void {
    if (len < 20) {
      this.warn(`interface description block of ${len} bytes is too short; interface ${this.sectionIfs.length} of section ${this.section} is unusable`, this.base + o);
      this.sectionIfs.push(this.newInterface(0, 0, 6, 0, 0));
      return;
    }
    const linkType = this.u16(b, o + 8);
    const snaplen = this.u32(b, o + 12);
    let tsresol = 6;
    let tsoff = 0;
    let name: string | null = null;
    let description: string | null = null;
    let os: string | null = null;
    let hardware: string | null = null;
    let filter: string | null = null;
    let comment: string | null = null;
    let fcs: number | null = null;
    let speed: number | null = null;
    let p = o + 16;
    const end = o + len - 4;
    while (p + 4 <= end) {
      const code = this.u16(b, p);
      const olen = this.u16(b, p + 2);
      if (code === 0) break;
      const v = p + 4;
      if (v + olen > end) {
        this.warn(`interface option ${code} of ${olen} bytes runs past its block; options ignored from here`, this.base + p);
        break;
      }
      switch (code) {
        case 1:
          comment ??= utf8.decode(b.subarray(v, v + olen));
          break;
        case 2:
          name = utf8.decode(b.subarray(v, v + olen));
          break;
        case 3:
          description = utf8.decode(b.subarray(v, v + olen));
          break;
        case 8:
          if (olen === 8) speed = this.u32(b, this.le ? v : v + 4) + this.u32(b, this.le ? v + 4 : v) * TWO32;
          break;
        case 9:
          if (olen >= 1) tsresol = b[v]!;
          break;
        case 11:
          if (olen >= 1) filter = b[v] === 0 ? utf8.decode(b.subarray(v + 1, v + olen)) : `(filter type ${b[v]}, ${olen - 1} bytes)`;
          break;
        case 12:
          os = utf8.decode(b.subarray(v, v + olen));
          break;
        case 13:
          if (olen >= 1) fcs = b[v]!;
          break;
        case 14:
          if (olen === 8) {
            const lo = this.u32(b, this.le ? v : v + 4);
            const hi = this.u32(b, this.le ? v + 4 : v);
            tsoff = (hi | 0) * TWO32 + lo; // signed 64-bit seconds
          }
          break;
        case 15:
          hardware = utf8.decode(b.subarray(v, v + olen));
          break;
        default:
          break;
      }
      p = v + ((olen + 3) & ~3);
    }
    if (this.interfaces.length >= MAX_INTERFACES) {
      this.corrupt(`more than ${MAX_INTERFACES} interface descriptions`, this.base + o);
      return;
    }
    const itf = this.newInterface(linkType, snaplen, tsresol, tsoff, this.sectionIfs.length);
    const info = itf.info;
    info.name = name;
    info.description = description;
    info.os = os;
    info.hardware = hardware;
    info.filter = filter;
    info.comment = comment;
    info.fcsLength = fcs;
    info.speedBps = speed;
    this.sectionIfs.push(itf);
    this.hooks.onInterface?.(info);
  }

  private newInterface(linkType: number, snaplen: number, tsresol: number, tsOffsetSec: number, sectionId: number): IfRt {
    const exp = tsresol & 0x7f;
    const decimal = (tsresol & 0x80) === 0;
    const unitsBig = decimal ? 10n ** BigInt(exp) : 1n << BigInt(exp);
    const units = Number(unitsBig);
    let kind = 2;
    if (decimal && exp <= 9) kind = 0;
    else if (units <= 2 ** 37) kind = 1;
    const info: InterfaceInfo = {
      id: this.interfaces.length,
      section: Math.max(this.section, 0),
      sectionInterfaceId: sectionId,
      linkType,
      name: null,
      description: null,
      snaplen,
      tsresol,
      unitsPerSecond: units,
      tsResolutionNs: 1e9 / units,
      tsOffsetSec,
      os: null,
      hardware: null,
      filter: null,
      comment: null,
      fcsLength: null,
      speedBps: null,
    };
    this.interfaces.push(info);
    return { info, units, kind, nsMul: kind === 0 ? 10 ** (9 - exp) : 0, unitsBig };
  }

  /**
   * Sets rec.tsSec / tsNsec from the 64-bit count of interface units at `b[o..o+8)` (high word
   * first), exactly. (Read here: the words passed as arguments were allocated numbers, per packet.)
   */
  private setTime(itf: IfRt, b: Uint8Array, o: number): void {
    const hi = this.u32(b, o);
    const lo = this.u32(b, o + 4);
    const r = this.rec;
    if (itf.kind === 2) {
      const t = (BigInt(hi) << 32n) | BigInt(lo);
      const q = t / itf.unitsBig;
      const rem = t - q * itf.unitsBig;
      r.tsSec = Number(q);
      r.tsNsec = Number((rem * 1_000_000_000n) / itf.unitsBig);
    } else {
      // Long division of hi·2^32 + lo by m in 16-bit limbs: every intermediate stays < 2^53.
      const m = itf.units;
      const qh = Math.floor(hi / m);
      const r0 = hi - qh * m;
      const t1 = r0 * 65536 + (lo >>> 16);
      const q1 = Math.floor(t1 / m);
      const r1 = t1 - q1 * m;
      const t2 = r1 * 65536 + (lo & 0xffff);
      const q2 = Math.floor(t2 / m);
      const frac = t2 - q2 * m;
      r.tsSec = qh * TWO32 + q1 * 65536 + q2;
      if (itf.kind === 0) r.tsNsec = frac * itf.nsMul;
      else if (m <= 2 ** 23) r.tsNsec = Math.floor((frac * 1e9) / m);
      else r.tsNsec = Number((BigInt(frac) * 1_000_000_000n) / itf.unitsBig);
    }
    r.tsSec += itf.info.tsOffsetSec;
  }

  private iface(id: number, o: number, what: string): IfRt | null {
    const itf = this.sectionIfs[id];
    if (itf === undefined) {
      this.warn(`${what} refers to interface ${id}, but section ${this.section} describes ${this.sectionIfs.length}; packet skipped`, this.base + o);
      return null;
    }
    return itf;
  }

  /**
   * An enhanced packet block (EPB) or the obsolete packet block (OPB) it replaced: one layout but
   * for the interface id, 32 bits in an EPB, 16 bits (then a 16-bit drops count) in an OPB; both
   * carry their flags in option 2.
   * ```
   *  0 type | 4 total length | 8 interface id | 12 ts high | 16 ts low | 20 captured length
   * 24 original length | 28 packet data, padded to 32 bits | options | total length
   * ```
   */
  private packetBlock(b: Uint8Array, o: number, len: number, enhanced: boolean): void {
    const what = enhanced ? 'enhanced packet block' : 'packet block';
    if (len < 32) {
      this.warn(`${what} of ${len} bytes is too short; skipped`, this.base + o);
      return;
    }
    const itf = this.iface(enhanced ? this.u32(b, o + 8) : this.u16(b, o + 8), o, what);
    if (itf === null) return;
    const cap = this.u32(b, o + 20);
    if (cap > len - 32) {
      this.warn(`${what} says ${cap} captured bytes, only ${len - 32} fit in the block; packet skipped`, this.base + o);
      return;
    }
    const r = this.rec;
    this.setTime(itf, b, o + 12);
    r.capturedLength = cap;
    r.originalLength = this.u32(b, o + 24);
    r.interfaceId = itf.info.id;
    r.linkType = itf.info.linkType;
    this.packetOptions(b, o + 28 + ((cap + 3) & ~3), o + len - 4, 2);
    this.deliver(b, o + 28, o);
  }

  private spb(b: Uint8Array, o: number, len: number): void {
    if (len < 16) {
      this.warn(`simple packet block of ${len} bytes is too short; skipped`, this.base + o);
      return;
    }
    const itf = this.iface(0, o, 'simple packet block');
    if (itf === null) return;
    const orig = this.u32(b, o + 8);
    // Captured length = min(original length, snaplen); the block must hold it.
    let cap = itf.info.snaplen !== 0 && orig > itf.info.snaplen ? itf.info.snaplen : orig;
    if (cap > len - 16) {
      this.warn(`simple packet block of ${len} bytes cannot hold the ${cap} bytes it implies; kept the ${len - 16} present`, this.base + o);
      cap = len - 16;
    }
    const r = this.rec;
    r.tsSec = 0;
    r.tsNsec = 0;
    r.capturedLength = cap;
    r.originalLength = orig;
    r.interfaceId = itf.info.id;
    r.linkType = itf.info.linkType;
    r.comment = null;
    r.flags = 0;
    this.deliver(b, o + 12, o);
  }

  /** Reads opt_comment and the flags option (code `flagsCode`) of a packet block. */
  private packetOptions(b: Uint8Array, p: number, end: number, flagsCode: number): void {
    const r = this.rec;
    r.comment = null;
    r.flags = 0;
    while (p + 4 <= end) {
      const code = this.u16(b, p);
      const olen = this.u16(b, p + 2);
      if (code === 0) return;
      const v = p + 4;
      if (v + olen > end) {
        this.warn(`packet option ${code} of ${olen} bytes runs past its block; options ignored`, this.base + p);
        return;
      }
      if (code === 1) r.comment ??= utf8.decode(b.subarray(v, v + olen));
      else if (code === flagsCode && olen === 4) r.flags = this.u32(b, v);
      p = v + ((olen + 3) & ~3);
    }
  }

  private deliver(b: Uint8Array, dataAt: number, blockAt: number): void {
    const r = this.rec;
    r.index = ++this.packets;
    r.time = r.tsSec + r.tsNsec / 1e9;
    r.data = b;
    r.offset = dataAt;
    r.byteOffset = this.base + blockAt;
    this.hooks.onPacket(r);
    const max = this.hooks.maxPackets;
    if (max !== undefined && this.packets >= max) this.done = true;
  }

  private warn(message: string, byteOffset: number): void {
    this.warnings++;
    const w: CaptureWarning = { message, byteOffset, file: this.file };
    if (this.warningList.length < 100) this.warningList.push(w);
    this.hooks.onWarning?.(w);
  }

  private corrupt(message: string, byteOffset: number): void {
    this.warn(`${message}; reading stopped here`, byteOffset);
    this.truncated = true;
    this.done = true;
    this.remLen = 0;
  }

  private formatError(message: string): MirrorlensError {
    this.done = true;
    return new MirrorlensError(ErrorCode.NotACapture, message, { file: this.file, byteOffset: 0 });
  }
}
