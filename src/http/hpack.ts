/**
 * HPACK (RFC 7541) decoder: static table, dynamic table with size-based eviction, table size
 * updates, integer and string literals, Huffman. One decoder per direction of an HTTP/2
 * connection. Verified against RFC 7541 Appendix C (see hpack.test.ts).
 *
 *   Indexed Header Field          1xxxxxxx  index (7-bit prefix)
 *   Literal, incremental indexing 01xxxxxx  name index (6) | 0 + name string; value string
 *   Dynamic table size update     001xxxxx  max size (5)
 *   Literal, never indexed        0001xxxx  name index (4) ...
 *   Literal, without indexing     0000xxxx  name index (4) ...
 *   String: H (1 bit) + length (7-bit prefix) + octets
 *
 * Capture-specific: a connection picked up mid-way has an unknown dynamic table. After
 * `markStateUnknown()` the decoder keeps decoding what it can: static entries and literals are
 * exact, entries added since the pickup are exact (new entries take the lowest dynamic indexes),
 * and references beyond them are reported as unknown (`incomplete`), never guessed.
 *
 * Why not a library: `hpack.js` (the usual npm choice) has not been released since 2017 and
 * throws on the first reference it cannot resolve, which is exactly the mid-connection case.
 */
import { EOS_LENGTH, HUFFMAN_CODES, HUFFMAN_LENGTHS } from './huffman-table.js';

// prettier-ignore
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];
const STATIC_LEN = 61;

// Huffman decoding tree: node i has children at TREE[2i] (bit 0) and TREE[2i+1] (bit 1).
// A child value >= 0 is a node index, < 0 is -(symbol + 1).
const TREE = new Int32Array(2 * 600);
let treeNodes = 1;
function buildTree(): void {
  const add = (code: number, len: number, sym: number): void => {
    let node = 0;
    for (let b = len - 1; b >= 0; b--) {
      const bit = (code >>> b) & 1;
      const slot = 2 * node + bit;
      if (b === 0) {
        TREE[slot] = -(sym + 1);
      } else {
        if (TREE[slot] === 0) TREE[slot] = treeNodes++;
        node = TREE[slot]!;
      }
    }
  };
  for (let s = 0; s < 256; s++) add(HUFFMAN_CODES[s]!, HUFFMAN_LENGTHS[s]!, s);
  add(0x3fffffff, EOS_LENGTH, 256);
}
buildTree();

export class HpackError extends Error {}

/** Decodes a Huffman-coded string (RFC 7541 5.2); throws HpackError on an invalid code or padding. */
export function huffmanDecode(bytes: Uint8Array, offset: number, length: number): string {
  let node = 0;
  let depth = 0;
  let allOnes = true;
  const out: number[] = [];
  for (let i = offset; i < offset + length; i++) {
    const byte = bytes[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >>> b) & 1;
      const next = TREE[2 * node + bit]!;
      depth++;
      if (bit === 0) allOnes = false;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === 256) throw new HpackError('EOS symbol inside a Huffman string');
        out.push(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new HpackError('invalid Huffman code');
      } else {
        node = next;
      }
    }
  }
  if (depth > 7) throw new HpackError('Huffman padding longer than 7 bits');
  if (!allOnes) throw new HpackError('Huffman padding is not the EOS prefix');
  return Buffer.from(out).toString('latin1');
}

/** Encodes with the Huffman code (tests and the h2c tools use it). */
export function huffmanEncode(s: string): Uint8Array {
  const out: number[] = [];
  let acc = 0n;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    acc = (acc << BigInt(HUFFMAN_LENGTHS[c]!)) | BigInt(HUFFMAN_CODES[c]!);
    bits += HUFFMAN_LENGTHS[c]!;
    while (bits >= 8) {
      bits -= 8;
      out.push(Number((acc >> BigInt(bits)) & 0xffn));
    }
    acc &= (1n << BigInt(bits)) - 1n;
  }
  if (bits > 0) out.push(Number(((acc << BigInt(8 - bits)) | ((1n << BigInt(8 - bits)) - 1n)) & 0xffn));
  return Uint8Array.from(out);
}

export interface HpackField {
  /** null when it refers to a dynamic entry we never saw (mid-connection pickup). */
  name: string | null;
  value: string | null;
  neverIndexed: boolean;
}

export interface HpackBlockResult {
  fields: HpackField[];
  /** Some fields referenced dynamic-table state we do not know. */
  incomplete: boolean;
  /** Set when the block violates RFC 7541 (the decoder then treats its state as unknown). */
  error: string | null;
  /** The dynamic table size updates the block carried. */
  tableSizeUpdates: number[];
}

interface Entry {
  name: string | null;
  value: string | null;
  size: number;
}

export class HpackDecoder {
  /** Newest first. */
  private entries: Entry[] = [];
  private size = 0;
  private maxSize: number;
  /** Upper bound the peer's SETTINGS_HEADER_TABLE_SIZE allows. */
  private allowedMax: number;
  /** True once the table holds entries we never saw. */
  stateUnknown = false;

  constructor(maxSize = 4096) {
    this.maxSize = maxSize;
    this.allowedMax = maxSize;
  }

  get dynamicTableSize(): number {
    return this.size;
  }

  get dynamicTableMaxSize(): number {
    return this.maxSize;
  }

  /** Dynamic entries, newest first (for tests and diagnostics). */
  dynamicEntries(): Array<[string | null, string | null]> {
    return this.entries.map((e) => [e.name, e.value]);
  }

  /** SETTINGS_HEADER_TABLE_SIZE sent by the peer that decodes what we decode. */
  setAllowedMaxSize(n: number): void {
    this.allowedMax = n;
  }

  /** The dynamic table holds entries we did not see (capture started mid-connection, or a gap). */
  markStateUnknown(): void {
    this.stateUnknown = true;
  }

  decode(block: Uint8Array, offset = 0, length = block.length - offset): HpackBlockResult {
    const res: HpackBlockResult = { fields: [], incomplete: false, error: null, tableSizeUpdates: [] };
    const end = offset + length;
    let p = offset;
    const int = (prefixBits: number): number => {
      if (p >= end) throw new HpackError('truncated integer');
      const mask = (1 << prefixBits) - 1;
      let v = block[p++]! & mask;
      if (v < mask) return v;
      let m = 0;
      for (;;) {
        if (p >= end) throw new HpackError('truncated integer');
        const b = block[p++]!;
        v += (b & 0x7f) * 2 ** m;
        m += 7;
        if ((b & 0x80) === 0) break;
        if (m > 35) throw new HpackError('integer too large');
      }
      return v;
    };
    const str = (): string => {
      if (p >= end) throw new HpackError('truncated string');
      const huff = (block[p]! & 0x80) !== 0;
      const n = int(7);
      if (p + n > end) throw new HpackError(`string length ${n} exceeds the ${end - p} bytes left in the block`);
      const s = huff ? huffmanDecode(block, p, n) : Buffer.from(block.buffer, block.byteOffset + p, n).toString('latin1');
      p += n;
      return s;
    };
    const lookup = (index: number): Entry | null => {
      if (index === 0) throw new HpackError('index 0');
      if (index <= STATIC_LEN) {
        const e = STATIC_TABLE[index - 1]!;
        return { name: e[0], value: e[1], size: 0 };
      }
      const d = index - STATIC_LEN - 1;
      if (d < this.entries.length) return this.entries[d]!;
      if (this.stateUnknown) return null;
      throw new HpackError(`index ${index} beyond the dynamic table (${this.entries.length} entries)`);
    };
    let seenField = false;
    try {
      while (p < end) {
        const b = block[p]!;
        if (b & 0x80) {
          const e = lookup(int(7));
          seenField = true;
          if (e === null) {
            res.incomplete = true;
            res.fields.push({ name: null, value: null, neverIndexed: false });
          } else {
            if (e.name === null || e.value === null) res.incomplete = true;
            res.fields.push({ name: e.name, value: e.value, neverIndexed: false });
          }
        } else if ((b & 0xe0) === 0x20) {
          if (seenField) throw new HpackError('dynamic table size update after a field');
          const n = int(5);
          if (n > this.allowedMax) throw new HpackError(`table size update to ${n} exceeds the allowed ${this.allowedMax}`);
          this.maxSize = n;
          res.tableSizeUpdates.push(n);
          this.evict(0);
        } else {
          const incremental = (b & 0xc0) === 0x40;
          const neverIndexed = !incremental && (b & 0xf0) === 0x10;
          const idx = int(incremental ? 6 : 4);
          let name: string | null;
          if (idx === 0) name = str();
          else {
            const e = lookup(idx);
            name = e === null ? null : e.name;
          }
          const value = str();
          seenField = true;
          if (name === null) res.incomplete = true;
          res.fields.push({ name, value, neverIndexed });
          if (incremental) this.add(name, value);
        }
      }
    } catch (e) {
      if (!(e instanceof HpackError)) throw e;
      res.error = e.message;
      // Our copy of the peer's table can no longer be trusted.
      this.stateUnknown = true;
    }
    return res;
  }

  private add(name: string | null, value: string): void {
    const size = (name?.length ?? 0) + value.length + 32;
    this.evict(size);
    if (size > this.maxSize) {
      // RFC 7541 4.4: an entry larger than the table empties it and is not added.
      this.entries = [];
      this.size = 0;
      return;
    }
    this.entries.unshift({ name, value, size });
    this.size += size;
  }

  private evict(incoming: number): void {
    while (this.entries.length > 0 && this.size + incoming > this.maxSize) {
      const e = this.entries.pop()!;
      this.size -= e.size;
    }
  }
}
