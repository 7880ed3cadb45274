/**
 * Follows a TLS key log (SSLKEYLOGFILE / RFC 9850 format) as it grows, for `listen --keylog`: new
 * complete lines are handed over (to be written as a pcapng Decryption Secrets Block), and the
 * lines read in the last `carrySeconds` (default 60) are kept so that a new rotated capture file
 * can start with them: the keys of handshakes whose packets may still land in that file. Older
 * lines are dropped (a key log grows with every TLS session, for as long as the listener runs;
 * keeping every line would grow memory, and every new file, without bound).
 *
 * Only the shape of each line is checked here (label, 64 hex digits, hex secret); the TLS stage
 * parses them for real. Malformed lines are counted and reported by line number, never quoted:
 * a key log holds secrets. A partial last line is held until its newline arrives. When the file
 * shrinks or is replaced (new inode), it is read again from the start; lines already known are
 * not repeated.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

const LINE = new RegExp(
  '^(?:' +
    '(?:CLIENT_RANDOM|PMS_CLIENT_RANDOM|CLIENT_EARLY_TRAFFIC_SECRET|EARLY_EXPORTER_SECRET|CLIENT_HANDSHAKE_TRAFFIC_SECRET|' +
    'SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET|ECH_SECRET|ECH_CONFIG)' +
    ' [0-9a-fA-F]{64} [0-9a-fA-F]{2,1024}' +
    '|RSA [0-9a-fA-F]{16} [0-9a-fA-F]{96}' +
    '|RSA Session-ID:[0-9a-fA-F]{2,64} Master-Key:[0-9a-fA-F]{96}' +
    ')$',
);

/** True when `line` (no line terminator) has the shape of an NSS key log entry. */
export function isKeyLogLine(line: string): boolean {
  return LINE.test(line);
}

export interface KeylogFollowerOptions {
  /** Poll interval in ms (default 200). */
  intervalMs?: number;
  /** Problems (never containing secrets). */
  onIssue?: (message: string) => void;
  /** How long a line read is kept for the start of new files, in seconds (default 60). */
  carrySeconds?: number;
  /** The clock (seconds); tests pass their own. */
  now?: () => number;
}

export class KeylogFollower {
  /** Valid distinct lines seen. */
  lineCount = 0;
  /** Malformed lines skipped. */
  badLines = 0;
  /** Lines read in the carry window, oldest first (from `carryHead` on), with when; `known` holds the same lines. */
  private readonly known = new Set<string>();
  private readonly carried: string[] = [];
  private readonly carriedAt: number[] = [];
  private carryHead = 0;
  private offset = 0;
  private ino = -1;
  private lineNo = 0;
  private partial = '';
  private timer: ReturnType<typeof setInterval> | null = null;
  private missingReported = false;
  private readonly buf = Buffer.alloc(1 << 16);

  constructor(
    readonly path: string,
    private readonly onLines: (text: string, count: number) => void,
    private readonly o: KeylogFollowerOptions = {},
  ) {}

  start(): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), this.o.intervalMs ?? 200);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.poll();
  }

  /** The lines read in the last `carrySeconds`, LF-terminated (for the start of a new capture file); '' when none. */
  carriedText(): string {
    this.dropOld();
    if (this.carryHead === this.carried.length) return '';
    return this.carried.slice(this.carryHead).join('\n') + '\n';
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now() / 1000;
  }

  /** Forgets the lines read before the carry window. */
  private dropOld(): void {
    const before = this.now() - (this.o.carrySeconds ?? 60);
    let head = this.carryHead;
    while (head < this.carried.length && this.carriedAt[head]! < before) this.known.delete(this.carried[head++]!);
    if (head > 1024 && head * 2 > this.carried.length) {
      this.carried.splice(0, head);
      this.carriedAt.splice(0, head);
      head = 0;
    }
    this.carryHead = head;
  }

  /** Reads what was appended since the last poll. */
  poll(): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (e) {
      if (!this.missingReported) {
        this.missingReported = true;
        this.o.onIssue?.(`key log ${this.path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist yet, waiting for it' : (e as Error).message}`);
      }
      return;
    }
    this.missingReported = false;
    try {
      const st = fstatSync(fd);
      if (st.ino !== this.ino || st.size < this.offset) {
        // new or truncated file: read it again from the start
        if (this.ino !== -1) this.o.onIssue?.(`key log ${this.path} was replaced or truncated; reading it again from the start`);
        this.ino = st.ino;
        this.offset = 0;
        this.lineNo = 0;
        this.partial = '';
      }
      let fresh: string[] | null = null;
      while (this.offset < st.size) {
        const n = readSync(fd, this.buf, 0, Math.min(this.buf.length, st.size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + this.buf.toString('latin1', 0, n);
        const lines = text.split(/\r\n|\n|\r/);
        this.partial = lines.pop()!;
        // A CR at the very end may be the first half of CRLF: keep it with the partial line.
        for (const raw of lines) {
          this.lineNo++;
          const line = raw.trim();
          if (line === '' || line.startsWith('#')) continue;
          if (!LINE.test(line)) {
            this.badLines++;
            this.o.onIssue?.(`key log ${this.path}:${this.lineNo}: not a key log line (expected LABEL <64 hex> <hex>), skipped`);
            continue;
          }
          if (this.known.has(line)) continue;
          this.known.add(line);
          this.carried.push(line);
          this.carriedAt.push(this.now());
          this.lineCount++;
          (fresh ??= []).push(line);
        }
      }
      if (fresh) this.onLines(fresh.join('\n') + '\n', fresh.length);
      this.dropOld();
    } finally {
      closeSync(fd);
    }
  }
}

/** True when the key log path exists now (for a start-up notice). */
export function keylogExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
