/**
 * Push line splitter: feed it decoded text chunks of any size; it calls back once per line with
 * the terminator (`\n` or `\r\n`) removed, identically for every chunking of the same input (tested
 * at every split point). Memory is bounded: a line longer than `maxLineChars` is not accumulated;
 * it is reported once, as too long, when its end arrives.
 */
import { isAscii } from 'node:buffer';

/**
 * A copy of `s` that shares no characters with the string it was cut from. Lines, and the fields
 * parsers cut from them, are slices of a whole decoded chunk (64 KiB): V8 keeps a slice's parent
 * alive, so one field stored for later (an error line kept for correlation, a map key) would pin
 * its entire chunk. Whatever outlives the line goes through this. (Concatenating then slicing makes
 * V8 flatten into a fresh string; strings under 13 characters are copied by slicing anyway.)
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** `ownString` for a field that may be absent. */
export function ownStringOrNull(s: string | null): string | null {
  return s === null ? null : ownString(s);
}

export type LineCallback = (line: string, tooLong: boolean) => void;

export class LineSplitter {
  private carry = '';
  private skipping = false;

  constructor(
    private readonly onLine: LineCallback,
    readonly maxLineChars = 1 << 20,
  ) {}

  push(s: string): void {
    let start = 0;
    let nl = s.indexOf('\n');
    if (nl < 0) {
      this.accumulate(s);
      return;
    }
    if (this.skipping) {
      this.skipping = false;
      this.onLine('', true);
      start = nl + 1;
    } else if (this.carry.length > 0) {
      let line = this.carry + s.substring(0, nl);
      this.carry = '';
      if (line.charCodeAt(line.length - 1) === 13) line = line.substring(0, line.length - 1);
      if (line.length > this.maxLineChars) this.onLine('', true);
      else this.onLine(line, false);
      start = nl + 1;
    }
    const max = this.maxLineChars;
    while ((nl = s.indexOf('\n', start)) >= 0) {
      let end = nl;
      if (end > start && s.charCodeAt(end - 1) === 13) end--;
      if (end - start > max) this.onLine('', true);
      else this.onLine(s.substring(start, end), false);
      start = nl + 1;
    }
    if (start < s.length) this.accumulate(s.substring(start));
  }

  /** Flushes a last line that has no terminator. */
  end(): void {
    if (this.skipping) {
      this.skipping = false;
      this.onLine('', true);
    } else if (this.carry.length > 0) {
      let line = this.carry;
      this.carry = '';
      if (line.charCodeAt(line.length - 1) === 13) line = line.substring(0, line.length - 1);
      this.onLine(line, false);
    }
  }

  /** No partial line held and none being skipped: the next push starts a line afresh. */
  get idle(): boolean {
    return this.carry.length === 0 && !this.skipping;
  }

  /** The longest line passed on (characters). */
  get maxChars(): number {
    return this.maxLineChars;
  }

  /** The current line is too long (decided by the caller, which dropped its bytes). */
  markTooLong(): void {
    this.carry = '';
    this.skipping = true;
  }

  /** Drops a partial last line (the input ended early). Returns how many characters were dropped. */
  discard(): number {
    const n = this.carry.length;
    this.carry = '';
    this.skipping = false;
    return n;
  }

  private accumulate(s: string): void {
    if (this.skipping) return;
    if (this.carry.length + s.length > this.maxLineChars + 1) {
      this.carry = '';
      this.skipping = true;
      return;
    }
    this.carry = this.carry.length === 0 ? s : this.carry + s;
  }
}

/**
 * Bytes → LineSplitter. Decodes only whole-line blocks (up to the last `\n` of what has arrived),
 * so a UTF-8 sequence is never cut (0x0A never occurs inside one), and decodes an all-ASCII block
 * (the usual case for AWS logs) as latin1, which is several times faster than UTF-8 decoding.
 * Bytes after the last newline wait for the next chunk (as a copy: a caller may read the next
 * chunk into the same buffer); when they exceed what the longest allowed line can take, the line
 * is declared too long and its bytes are dropped (memory stays bounded).
 */
export class Utf8LineFeeder {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private readonly maxCarryBytes: number;
  /**
   * Optional: takes a block of whole lines (`buf[from, to)`, ending with `\n`) as bytes, when the
   * splitter is idle, and returns true when it has passed every line on itself (read.ts's native
   * ALB scan, which must then do what the splitter would: same lines, numbers, too-long reports).
   */
  onBlock: ((buf: Buffer, from: number, to: number) => boolean) | null = null;

  constructor(private readonly splitter: LineSplitter) {
    // A line of N UTF-16 code units takes at most 3N bytes of UTF-8.
    this.maxCarryBytes = splitter.maxLineChars * 3 + 8;
  }

  push(chunk: Buffer): void {
    const nl = chunk.lastIndexOf(0x0a);
    if (nl < 0) {
      if (this.carryBytes + chunk.length > this.maxCarryBytes) {
        this.carry = [];
        this.carryBytes = 0;
        this.splitter.markTooLong();
      } else {
        this.carry.push(Buffer.from(chunk));
        this.carryBytes += chunk.length;
      }
      return;
    }
    let from = 0;
    if (this.carryBytes > 0) {
      // Complete the pending line with this chunk's first line only (a small copy).
      const first = chunk.indexOf(0x0a);
      this.carry.push(chunk.subarray(0, first + 1));
      this.block(Buffer.concat(this.carry, this.carryBytes + first + 1), 0, this.carryBytes + first + 1);
      this.carry = [];
      this.carryBytes = 0;
      from = first + 1;
    }
    if (from <= nl) this.block(chunk, from, nl + 1);
    if (nl + 1 < chunk.length) {
      const rest = Buffer.from(chunk.subarray(nl + 1));
      this.carry.push(rest);
      this.carryBytes = rest.length;
    }
  }

  end(): void {
    if (this.carryBytes > 0) this.splitter.push(decode(Buffer.concat(this.carry, this.carryBytes)));
    this.carry = [];
    this.carryBytes = 0;
    this.splitter.end();
  }

  /** Whole lines `buf[from, to)` to onBlock, or decoded to the splitter. */
  private block(buf: Buffer, from: number, to: number): void {
    if (this.onBlock !== null && this.splitter.idle && this.onBlock(buf, from, to)) return;
    this.splitter.push(decode(buf.subarray(from, to)));
  }

  /** Drops a partial last line (input ended early); returns how many bytes/characters were dropped. */
  discard(): number {
    const n = this.carryBytes + this.splitter.discard();
    this.carry = [];
    this.carryBytes = 0;
    return n;
  }
}

function decode(b: Buffer): string {
  return isAscii(b) ? b.toString('latin1') : b.toString('utf8');
}
