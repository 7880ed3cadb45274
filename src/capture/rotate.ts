/**
 * A rotating series of pcapng files with an optional ring bound, for `mirrorlens listen`.
 *
 * - File names carry the UTC start time and sort in time order:
 *   `<prefix>-20261125T203518.123Z.pcapng` (a `-N` suffix only if two files start in one ms).
 * - Rotation when the current file reaches `rotateBytes` and/or has been open `rotateSeconds`.
 * - Ring: at most `ringFiles` files and/or `ringBytes` bytes in total (current file included);
 *   the oldest files are deleted first. Files of an earlier run with the same prefix in the same
 *   directory count toward the ring (so a restart keeps the directory bounded).
 * - Disk full (ENOSPC/EDQUOT/EFBIG): the file is cut back to its last complete block, the oldest
 *   ring files are deleted one by one and the write retried; without a ring (no file is ever
 *   deleted then), or when nothing is left to delete, the buffered packets are counted as lost
 *   and capture goes on (the next write tries again). Reported through `onEvent` (rate-limited).
 * - Every new file starts with whatever `onOpen` writes (interfaces are added lazily by the caller;
 *   the listener re-writes the known TLS secrets there so each file is self-contained).
 *
 * All I/O is synchronous (writeSync on whole blocks), so a signal handler can flush and close.
 */
import { closeSync, ftruncateSync, openSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PcapngWriter, type PcapngWriterOptions } from './pcapng-writer.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export interface RotationOptions {
  dir: string;
  /** File name prefix (default "mirrorlens"). */
  prefix?: string;
  /** Added after the time stamp: `<prefix>-<time><suffix>.pcapng` (e.g. "-w2" for worker 2). */
  suffix?: string;
  /** Rotate when the current file reaches this size (bytes); 0/undefined = no size limit. */
  rotateBytes?: number;
  /** Rotate when the current file is this old (seconds); 0/undefined = no time limit. */
  rotateSeconds?: number;
  /** Keep at most this many files (current included); 0/undefined = unbounded. */
  ringFiles?: number;
  /** Keep at most this many bytes in all files (current included); 0/undefined = unbounded. */
  ringBytes?: number;
  /** Writer buffer size (default 1 MiB). */
  bufferSize?: number;
  shb?: PcapngWriterOptions['shb'];
  /** Called with each new writer before any packet is written to it. */
  onOpen?: (w: PcapngWriter, path: string) => void;
  /** Called when a file has been closed (path, bytes, packets). */
  onClose?: (path: string, bytes: number, packets: number) => void;
  /** Disk-full and deletion notices, one line each. */
  onEvent?: (kind: 'disk-full' | 'ring-delete' | 'write-error', message: string) => void;
  /** Clock in ms since the epoch (tests). */
  now?: () => number;
}

interface FileEntry {
  path: string;
  bytes: number;
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

function causeCode(e: unknown): string | undefined {
  let c: unknown = e;
  for (let i = 0; i < 4 && c; i++) {
    const code = (c as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

/** UTC timestamp sortable as text: 20261125T203518.123Z */
export function fileTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}Z`;
}

export class RotatingCapture {
  /** The current writer (always open between open() and close()). */
  writer!: PcapngWriter;
  /** Path of the current file. */
  path = '';
  /** Incremented at every new file: callers re-add interfaces when it changes. */
  generation = 0;
  /** Files written (closed or current). */
  filesOpened = 0;
  /** Packets lost to write errors (disk full without room to free). */
  packetsLost = 0;
  /** Files deleted by the ring. */
  filesDeleted = 0;
  diskFullEvents = 0;

  private readonly prefix: string;
  private readonly suffix: string;
  private readonly ring: FileEntry[] = [];
  private ringTotal = 0;
  private fd = -1;
  /** Bytes known to be on disk in the current file (whole blocks). */
  private diskBytes = 0;
  /** writer.packets at the last successful write to disk. */
  private packetsOnDisk = 0;
  private openedAt = 0;
  private readonly now: () => number;
  private closed = true;

  constructor(private readonly o: RotationOptions) {
    this.prefix = o.prefix ?? 'mirrorlens';
    this.suffix = o.suffix ?? '';
    if (/[/\\]/.test(this.suffix)) throw new RangeError(`file suffix must not contain a path separator: ${this.suffix}`);
    this.now = o.now ?? Date.now;
    if (/[/\\]/.test(this.prefix)) throw new RangeError(`file prefix must not contain a path separator: ${this.prefix}`);
  }

  /** Scans the directory for files of an earlier run, then opens the first file. */
  open(): void {
    let names: string[];
    try {
      names = readdirSync(this.o.dir);
    } catch (e) {
      throw new MirrorlensError(ErrorCode.CaptureWrite, `cannot read output directory: ${(e as Error).message}`, { file: this.o.dir }, { cause: e });
    }
    const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const re = new RegExp(`^${esc(this.prefix)}-\\d{8}T\\d{6}\\.\\d{3}Z${esc(this.suffix)}(?:-\\d+)?\\.pcapng$`);
    for (const n of names.filter((x) => re.test(x)).sort()) {
      const p = join(this.o.dir, n);
      try {
        const st = statSync(p);
        this.ring.push({ path: p, bytes: st.size });
        this.ringTotal += st.size;
      } catch {
        // vanished meanwhile
      }
    }
    this.closed = false;
    this.openNext();
  }

  /** Files currently kept (oldest first), the current one last. */
  files(): { path: string; bytes: number }[] {
    const out = this.ring.map((f) => ({ ...f }));
    if (this.writerReady) out.push({ path: this.path, bytes: this.writer.bytesWritten });
    return out;
  }

  /** Bytes in all ring files plus the current one. */
  get totalBytes(): number {
    return this.ringTotal + this.writer.bytesWritten;
  }

  /** Rotates if the size limit is reached; call after each packet (cheap). */
  afterWrite(): void {
    const lim = this.o.rotateBytes;
    if (lim !== undefined && lim > 0 && this.writer.bytesWritten >= lim) this.rotate();
    else if (this.o.ringBytes && this.ringTotal + this.writer.bytesWritten > this.o.ringBytes && this.ring.length > 0) this.enforceRing(0);
  }

  /** Rotates if the time limit is reached; call from a timer. */
  tick(): void {
    const s = this.o.rotateSeconds;
    if (s !== undefined && s > 0 && this.now() - this.openedAt >= s * 1000 && this.writer.packets > 0) this.rotate();
  }

  /** Closes the current file and opens the next one. */
  rotate(): void {
    this.closeCurrent();
    this.openNext();
  }

  /** Writes buffered blocks to disk (disk-full handled as described above). */
  flush(): void {
    try {
      this.writer.flush();
    } catch (e) {
      this.handleWriteError(e, 0);
    }
  }

  /**
   * Runs `fn` (which writes one packet to `this.writer`) and handles a disk full that freeing ring
   * files could not cure. Returns false when `fn`'s packet was lost (the caller counts it; packets
   * buffered earlier are added to `packetsLost`).
   */
  guard(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      return this.handleWriteError(e, 1);
    }
  }

  /**
   * `writer.writePacket` with disk-full handling (as guard(), without a closure per packet).
   * Returns false when the packet was lost.
   */
  writePacket(ifId: number, tsSec: number, tsNsec: number, data: Uint8Array, offset: number, length: number, originalLength: number, comment: string | null, flags: number | undefined): boolean {
    try {
      this.writer.writePacket(ifId, tsSec, tsNsec, data, offset, length, originalLength, comment, flags);
      return true;
    } catch (e) {
      return this.handleWriteError(e, 1);
    }
  }

  /** Flushes and closes the current file. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCurrent();
  }

  private lastReport = 0;
  private unreportedLost = 0;

  private handleWriteError(e: unknown, own: number): boolean {
    const code = causeCode(e);
    if (code === undefined || !DISK_FULL.has(code)) {
      this.o.onEvent?.('write-error', `write to ${this.path} failed: ${(e as Error).message}`);
      throw e;
    }
    // The sink already cut the file back to its last complete block and deleted what the ring
    // allowed; the blocks buffered since the last good write are lost, and so is fn's own block.
    const lost = this.writer.packets - this.packetsOnDisk + own;
    this.packetsOnDisk = this.writer.packets;
    this.packetsLost += lost - own;
    this.unreportedLost += lost;
    const t = this.now();
    if (t - this.lastReport >= 5000) {
      this.lastReport = t;
      const ringOn = Boolean(this.o.ringFiles || this.o.ringBytes);
      this.o.onEvent?.(
        'disk-full',
        `disk full (${code}) writing ${this.path}: ${this.unreportedLost} packet(s) lost; ${ringOn ? 'no older ring file left to delete' : 'no ring configured (--ring-files/--ring-bytes), so no file is deleted'}; free some space, capture goes on`,
      );
      this.unreportedLost = 0;
    }
    return false;
  }

  private deleteOldest(why: string): boolean {
    const f = this.ring.shift();
    if (!f) return false;
    this.ringTotal -= f.bytes;
    try {
      unlinkSync(f.path);
      this.filesDeleted++;
      this.o.onEvent?.('ring-delete', `deleted ${f.path} (${why})`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.o.onEvent?.('write-error', `cannot delete ${f.path}: ${(e as Error).message}`);
    }
    return true;
  }

  /** Deletes the oldest closed files until the ring bounds hold (with `extraFiles` more to come). */
  private enforceRing(extraFiles: number): void {
    const { ringFiles, ringBytes } = this.o;
    const cur = this.writerReady ? this.writer.bytesWritten : 0;
    if (ringFiles) while (this.ring.length > 0 && this.ring.length + (this.writerReady ? 1 : 0) + extraFiles > ringFiles) this.deleteOldest(`ring of ${ringFiles} files`);
    if (ringBytes) while (this.ring.length > 0 && this.ringTotal + cur > ringBytes) this.deleteOldest(`ring of ${ringBytes} bytes`);
  }

  private openNext(): void {
    const t = this.now();
    let name = `${this.prefix}-${fileTimestamp(t)}${this.suffix}.pcapng`;
    let path = join(this.o.dir, name);
    for (let i = 1; this.ring.some((f) => f.path === path) || exists(path); i++) {
      name = `${this.prefix}-${fileTimestamp(t)}${this.suffix}-${i}.pcapng`;
      path = join(this.o.dir, name);
    }
    // Make room for the new file first (count bound), so the directory never exceeds it.
    this.writerReady = false;
    if (this.o.ringFiles) while (this.ring.length > 0 && this.ring.length + 1 > this.o.ringFiles) this.deleteOldest(`ring of ${this.o.ringFiles} files`);
    let fd: number;
    for (;;) {
      try {
        fd = openSync(path, 'wx');
        break;
      } catch (e) {
        if (DISK_FULL.has(causeCode(e) ?? '') && (this.o.ringFiles || this.o.ringBytes) && this.deleteOldest('disk full')) continue;
        throw new MirrorlensError(ErrorCode.CaptureWrite, `cannot create capture file: ${(e as Error).message}`, { file: path }, { cause: e });
      }
    }
    this.fd = fd;
    this.path = path;
    this.diskBytes = 0;
    this.packetsOnDisk = 0;
    this.openedAt = t;
    this.generation++;
    this.filesOpened++;
    // writeChunk writes synchronously and keeps nothing, so the writer need not copy its buffer.
    const sink = { write: (b: Uint8Array): void => this.writeChunk(fd, b), consumesSynchronously: true };
    this.writer = new PcapngWriter(sink, { bufferSize: this.o.bufferSize, shb: this.o.shb });
    this.writerReady = true;
    this.o.onOpen?.(this.writer, path);
    // The section header (and carried secrets) reach the file at once: a crash right after a
    // rotation must not leave an empty file that no reader accepts as a capture.
    this.flush();
  }

  private writerReady = false;

  /**
   * Writes whole blocks at the file's known end. On disk full: cut the file back to its last
   * complete block, delete the oldest ring file (only when a ring is configured) and retry, until
   * it fits or nothing is left to delete (then throw).
   */
  private writeChunk(fd: number, b: Uint8Array): void {
    for (;;) {
      try {
        let done = 0;
        while (done < b.length) done += writeSync(fd, b, done, b.length - done, this.diskBytes + done);
        this.diskBytes += b.length;
        this.packetsOnDisk = this.writer.packets;
        return;
      } catch (e) {
        try {
          ftruncateSync(fd, this.diskBytes);
        } catch {
          // the reader stops at the last complete block anyway
        }
        if (!DISK_FULL.has(causeCode(e) ?? '')) throw e;
        this.diskFullEvents++;
        const ringOn = Boolean(this.o.ringFiles || this.o.ringBytes);
        if (!ringOn || !this.deleteOldest('disk full')) throw e;
        this.o.onEvent?.('disk-full', `disk full (${causeCode(e)}) writing ${this.path}: deleted the oldest ring file, capture continues`);
      }
    }
  }

  private closeCurrent(): void {
    if (!this.writerReady && this.fd < 0) return;
    this.flush();
    this.abandonCurrent();
    this.enforceRing(0);
  }

  /** Closes the fd without flushing; the file joins the ring with the bytes on disk. */
  private abandonCurrent(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // ignore
      }
      this.ring.push({ path: this.path, bytes: this.diskBytes });
      this.ringTotal += this.diskBytes;
      this.o.onClose?.(this.path, this.diskBytes, this.packetsOnDisk);
    }
    this.fd = -1;
    this.writerReady = false;
  }
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
