/**
 * Push line splitter: feed it decoded text chunks of any size; it calls back once per line with
 * the terminator (`\n` or `\r\n`) removed, identically for every chunking of the same input (tested
 * at every split point). Memory is bounded: a line longer than `maxLineChars` is not accumulated;
 * it is reported once, as too long, when its end arrives.
 */
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
