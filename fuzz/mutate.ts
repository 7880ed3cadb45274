/**
 * Mutators: a seeded random generator and the edits the fuzzer stacks on corpus inputs, at the
 * byte level (what radamsa and libFuzzer do: flips, interesting values, lengths off by one,
 * inserted, deleted, duplicated and spliced ranges) and at the line and field level for text
 * (access logs, flow logs, key logs: fields swapped, dropped, doubled, cut, glued, replaced by
 * hostile tokens). The same seed gives the same input, so a failure is replayed from its seed.
 */

/** xorshift128+ on 32-bit halves: fast, seedable, good enough to pick mutations. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 to spread the seed over the state.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next() | 1;
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** 32 random bits. */
  u32(): number {
    // xoshiro128** (Blackman, Vigna).
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 0x100000000) * n);
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The seed of input `iteration` of `target` in a run seeded `seed`. */
export function inputSeed(seed: number, target: string, iteration: number): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < target.length; i++) h = Math.imul(h ^ target.charCodeAt(i), 0x01000193);
  return (Math.imul(h ^ iteration, 0x9e3779b1) ^ Math.imul(iteration >>> 16, 0x85ebca6b)) >>> 0;
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff];
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0x00ff, 0xff00];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x0000ffff, 0xffff0000, 0x01000000];

/** One random byte-level edit of `b` (a new array when the length changes). */
function byteEdit(b: Uint8Array, rng: Rng, donors: readonly Uint8Array[]): Uint8Array {
  const n = b.length;
  const at = rng.int(Math.max(1, n));
  switch (rng.int(13)) {
    case 0: // flip a bit
      if (n > 0) b[at] = b[at]! ^ (1 << rng.int(8));
      return b;
    case 1: // a random byte
      if (n > 0) b[at] = rng.int(256);
      return b;
    case 2: // an interesting byte
      if (n > 0) b[at] = rng.pick(INTERESTING_8);
      return b;
    case 3: // an interesting 16-bit value, either byte order
      if (n >= 2) {
        const v = rng.pick(INTERESTING_16);
        const p = rng.int(n - 1);
        if (rng.chance(0.5)) [b[p], b[p + 1]] = [v >> 8, v & 0xff];
        else [b[p], b[p + 1]] = [v & 0xff, v >> 8];
      }
      return b;
    case 4: // an interesting 32-bit value, either byte order (pcapng lengths are 32-bit LE/BE)
      if (n >= 4) {
        const v = rng.pick(INTERESTING_32);
        const p = rng.int(n - 3) & ~(rng.chance(0.5) ? 3 : 0);
        const bytes = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
        if (rng.chance(0.5)) bytes.reverse();
        for (let i = 0; i < 4; i++) b[p + i] = bytes[i]!;
      }
      return b;
    case 5: // a length field off by a little: add or subtract 1..16 to a byte or a 16-bit value
      if (n >= 2) {
        const p = rng.int(n - 1);
        const d = (rng.int(16) + 1) * (rng.chance(0.5) ? 1 : -1);
        if (rng.chance(0.5)) b[p] = (b[p]! + d) & 0xff;
        else {
          const v = (((b[p]! << 8) | b[p + 1]!) + d) & 0xffff;
          b[p] = v >> 8;
          b[p + 1] = v & 0xff;
        }
      }
      return b;
    case 6: {
      // insert random bytes
      const k = 1 + rng.int(rng.chance(0.9) ? 16 : 4096);
      const out = new Uint8Array(n + k);
      out.set(b.subarray(0, at), 0);
      for (let i = 0; i < k; i++) out[at + i] = rng.int(256);
      out.set(b.subarray(at), at + k);
      return out;
    }
    case 7: {
      // delete a range
      const k = Math.min(n - at, 1 + rng.int(rng.chance(0.8) ? 16 : 1024));
      const out = new Uint8Array(n - k);
      out.set(b.subarray(0, at), 0);
      out.set(b.subarray(at + k), at);
      return out;
    }
    case 8: {
      // duplicate a range in place (a repeated record, a replayed segment)
      const k = Math.min(n - at, 1 + rng.int(256));
      const out = new Uint8Array(n + k);
      out.set(b.subarray(0, at + k), 0);
      out.set(b.subarray(at, at + k), at + k);
      out.set(b.subarray(at + k), at + 2 * k);
      return out;
    }
    case 9: {
      // copy a range over another
      if (n < 2) return b;
      const from = rng.int(n);
      const k = Math.min(n - from, n - at, 1 + rng.int(64));
      b.copyWithin(at, from, from + k);
      return b;
    }
    case 10: {
      // splice: a range of another corpus input inserted here
      const d = donors.length > 0 ? rng.pick(donors) : b;
      if (d.length === 0) return b;
      const from = rng.int(d.length);
      const k = Math.min(d.length - from, 1 + rng.int(512));
      const out = new Uint8Array(n + k);
      out.set(b.subarray(0, at), 0);
      out.set(d.subarray(from, from + k), at);
      out.set(b.subarray(at), at + k);
      return out;
    }
    case 11: // cut short
      return new Uint8Array(b.subarray(0, rng.int(n + 1)));
    default: {
      // a run of one byte (0x00, 0xff or random) over a range
      const k = Math.min(n - at, 1 + rng.int(64));
      b.fill(rng.pick([0, 0xff, rng.int(256)]), at, at + k);
      return b;
    }
  }
}

/** 1 to 2^k stacked byte edits of a copy of `input`. */
export function mutateBytes(input: Uint8Array, rng: Rng, donors: readonly Uint8Array[] = [], maxLog2 = 3): Uint8Array {
  // A copy (a Buffer's slice() would be a view, and the edits would change the corpus).
  let b: Uint8Array = new Uint8Array(input);
  const edits = 1 << rng.int(maxLog2 + 1);
  for (let i = 0; i < edits; i++) b = byteEdit(b, rng, donors);
  return b;
}

/** Tokens a hostile log line or header might carry: markup, quotes, control bytes, extremes. */
export const HOSTILE_TOKENS = [
  '<mlx-script>',
  '<img src=x onerror=mlx()>',
  '"><svg onload=mlx()>',
  '"',
  '""',
  '\\"',
  '-',
  '',
  ' ',
  '\t',
  '\x1b[31m',
  '\x1b]0;title\x07',
  '\x00',
  '\r',
  '\u2028',
  '\ufffd',
  'é',
  '0',
  '-1',
  '4294967296',
  '9007199254740993',
  '1e308',
  'NaN',
  '0x10',
  '::ffff:10.0.0.1',
  '[::1]:80',
  '10.0.0.1:99999',
  '256.1.1.1',
  '2024-02-30T25:61:61.000000Z',
  '1970-01-01T00:00:00.000000Z',
  '%00',
  '%',
  '../../etc/passwd',
  'A'.repeat(5000),
] as const;

/** One field-level edit of a line of space-separated fields (quoted fields kept whole). */
function lineEdit(line: string, rng: Rng, donorLines: readonly string[]): string {
  const fields = line.match(/"[^"]*"|\S+/g) ?? [];
  const i = rng.int(Math.max(1, fields.length));
  switch (rng.int(10)) {
    case 0: // swap two fields
      if (fields.length >= 2) {
        const j = rng.int(fields.length);
        [fields[i], fields[j]] = [fields[j]!, fields[i]!];
      }
      break;
    case 1: // drop a field
      fields.splice(i, 1);
      break;
    case 2: // double a field
      if (fields.length > 0) fields.splice(i, 0, fields[i]!);
      break;
    case 3: // a hostile token for a field
      fields[i] = rng.pick(HOSTILE_TOKENS);
      break;
    case 4: // a hostile token inside a quoted field, or appended to one
      if (fields.length > 0) fields[i] = fields[i]!.startsWith('"') ? `"${rng.pick(HOSTILE_TOKENS)}${fields[i]!.slice(1)}` : `${fields[i]}${rng.pick(HOSTILE_TOKENS)}`;
      break;
    case 5: // cut the line
      return line.slice(0, rng.int(line.length + 1));
    case 6: // glue the next line on (two writers)
      return `${line.slice(0, rng.int(line.length + 1))}${donorLines.length ? rng.pick(donorLines) : line}`;
    case 7: // a field from another line of the corpus
      if (donorLines.length > 0) {
        const other = rng.pick(donorLines).match(/"[^"]*"|\S+/g) ?? [];
        if (other.length > 0) fields[i] = rng.pick(other);
      }
      break;
    case 8: // a number field nudged: digits changed, sign flipped, made huge
      if (fields.length > 0) fields[i] = fields[i]!.replace(/\d+/, (d) => rng.pick([String(Number(d) + 1), `-${d}`, `${d}${d}${d}`, '0', '']));
      break;
    default: // an unbalanced quote
      if (fields.length > 0) fields[i] = fields[i]!.replace('"', '');
      break;
  }
  return fields.join(rng.chance(0.9) ? ' ' : rng.pick(['  ', '\t', ' \t']));
}

/**
 * Line and field edits of a text (a log, a key log), then, now and then, byte edits of the result
 * (NULs, cut UTF-8, line ends). Lines are picked at random; their order can change too.
 */
export function mutateText(text: string, rng: Rng, donorLines: readonly string[] = []): Uint8Array {
  const lines = text.split('\n');
  const edits = 1 << rng.int(4);
  for (let e = 0; e < edits; e++) {
    const i = rng.int(lines.length);
    switch (rng.int(8)) {
      case 0: // duplicate a line
        lines.splice(i, 0, lines[i]!);
        break;
      case 1: // drop a line
        lines.splice(i, 1);
        break;
      case 2: // swap two lines (time order broken)
        {
          const j = rng.int(lines.length);
          [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        }
        break;
      case 3: // CRLF or CR line end
        lines[i] = `${lines[i]}${rng.pick(['\r', '\r\r', ''])}`;
        break;
      default:
        lines[i] = lineEdit(lines[i] ?? '', rng, donorLines);
    }
  }
  const bytes = Buffer.from(lines.join('\n'), rng.chance(0.9) ? 'utf8' : 'latin1');
  return rng.chance(0.2) ? mutateBytes(bytes, rng, [], 2) : new Uint8Array(bytes);
}
