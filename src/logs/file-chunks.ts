/**
 * A local regular file's bytes for the log reader, read synchronously. Once `reuse` is set, every
 * chunk is read into one buffer: a chunk is then valid only until the next is asked for, and the
 * consumer copies what it keeps (Utf8LineFeeder does). Measured on a 117 MB ALB log (Node 20, this
 * 2-vCPU guest): 15-20 ms of CPU, against 125-160 ms for a 64 KiB ReadStream, whose reads each go
 * through the thread pool and allocate a new chunk that lives until V8 next collects. It yields to
 * the event loop every 4 MiB, so signals and timers still run. Only for regular files: a FIFO or
 * a device would block the whole process on a read (those keep the stream).
 */
import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 16;
const YIELD_EVERY = 1 << 22;

export class FileChunks implements AsyncIterator<Buffer> {
  /** Read into one reused buffer (see above); until set, each chunk is a buffer of its own. */
  reuse = false;
  private fd = -1;
  private buf: Buffer | null = null;
  private sinceYield = 0;
  private done = false;

  constructor(private readonly path: string) {}

  async next(): Promise<IteratorResult<Buffer>> {
    if (this.done) return { done: true, value: undefined };
    if (this.fd < 0) this.fd = openSync(this.path, 'r');
    if (this.sinceYield >= YIELD_EVERY) {
      this.sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const buf = this.reuse ? (this.buf ??= Buffer.allocUnsafe(CHUNK)) : Buffer.allocUnsafe(CHUNK);
    const n = readSync(this.fd, buf, 0, CHUNK, null);
    if (n === 0) {
      this.close();
      return { done: true, value: undefined };
    }
    this.sinceYield += n;
    return { done: false, value: buf.subarray(0, n) };
  }

  async return(): Promise<IteratorResult<Buffer>> {
    this.close();
    return { done: true, value: undefined };
  }

  close(): void {
    this.done = true;
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      closeSync(fd);
    }
  }
}
