/**
 * readCapture: streams a pcap or pcapng capture (file path or readable stream, gzip detected by
 * its magic 1f 8b and decompressed on the fly) through a CaptureParser.
 *
 * Files are read in fixed 256 KiB chunks into one reused buffer: memory stays bounded by the
 * chunk size plus the largest single block, whatever the file size. Regular files are read
 * synchronously (file-chunks.ts), FIFOs, devices and streams asynchronously.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { fileProblem } from './file-problem.js';
import { FileChunks, isRegularFile } from './file-chunks.js';
import { CaptureParser } from './parser.js';
import type { CaptureSummary, PacketRecord, ReadOptions } from './record.js';

export { CaptureParser, MAX_BLOCK, MAX_INTERFACES } from './parser.js';
export type { ParserHooks } from './parser.js';

/** Size of the read buffer for files. */
export const READ_CHUNK = 256 * 1024;


export interface ReadCaptureOptions extends ReadOptions {
  /** Name used in warnings and errors (defaults to the path, or "stdin"/"stream"). */
  name?: string;
  /** Read buffer size for files (default READ_CHUNK). */
  chunkSize?: number;
  /** Receives the parser before reading starts (e.g. to inspect maxBuffered afterwards). */
  onParser?(p: CaptureParser): void;
}

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/**
 * Reads every packet of a capture, calling `onPacket` with one reused record (valid only during
 * the call). Resolves with a summary; rejects only with a MirrorlensError (not a capture, cannot
 * open) or the signal's abort reason. Truncated and corrupt files resolve with warnings.
 */
export async function readCapture(
  input: string | NodeJS.ReadableStream,
  onPacket: (rec: PacketRecord) => void,
  opts: ReadCaptureOptions = {},
): Promise<CaptureSummary> {
  const name = opts.name ?? (typeof input === 'string' ? input : input === process.stdin ? 'stdin' : 'stream');
  const parser = new CaptureParser(name, {
    onPacket,
    onSecrets: opts.onSecrets,
    onInterface: opts.onInterface,
    onWarning: opts.onWarning,
    maxPackets: opts.maxPackets,
  });
  opts.onParser?.(parser);
  opts.signal?.throwIfAborted();
  let gzip = false;
  if (typeof input === 'string' && input.startsWith('s3://')) {
    // An object in S3 (a capture `listen` wrote and uploaded): streamed, never copied to disk.
    const { openS3Object } = await import('./sources/s3.js');
    gzip = await readStream(parser, await openS3Object(input), opts);
  } else if (typeof input === 'string') gzip = await readFile(parser, input, opts);
  else gzip = await readStream(parser, input, opts);
  parser.end();
  return parser.summary(gzip);
}

async function readFile(parser: CaptureParser, path: string, opts: ReadCaptureOptions): Promise<boolean> {
  const cannotOpen = (e: unknown): MirrorlensError => new MirrorlensError(ErrorCode.FileOpen, `cannot open capture: ${fileProblem(e)}`, { file: path }, { cause: e });
  const cannotRead = (e: unknown): MirrorlensError => new MirrorlensError(ErrorCode.FileOpen, `cannot read capture: ${fileProblem(e)}`, { file: path, byteOffset: parser.bytes }, { cause: e });
  const size = opts.chunkSize ?? READ_CHUNK;
  // A regular file is read synchronously (file-chunks.ts: the thread does not wait on the thread
  // pool for every chunk); a FIFO or device asynchronously, which must not block the process.
  if (isRegularFile(path)) {
    const chunks = new FileChunks(path, size);
    try {
      chunks.open();
    } catch (e) {
      throw cannotOpen(e);
    }
    try {
      const next = async (): Promise<Buffer | null> => {
        try {
          const r = await chunks.next();
          return r.done ? null : r.value;
        } catch (e) {
          throw cannotRead(e);
        }
      };
      let chunk = await next();
      if (chunk !== null && isGzip(chunk)) {
        // (chunks.reuse stays off: zlib may hold on to its input.)
        await gunzipInto(parser, prepend(chunk, next), opts);
        return true;
      }
      chunks.reuse = true;
      for (; chunk !== null; chunk = await next()) {
        parser.push(chunk);
        if (parser.done) return false;
        opts.signal?.throwIfAborted();
      }
      return false;
    } finally {
      chunks.close();
    }
  }
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw cannotOpen(e);
  }
  try {
    const buf = new Uint8Array(size);
    const read = async (into: Uint8Array): Promise<number> => {
      try {
        return (await fh.read(into, 0, into.length, null)).bytesRead;
      } catch (e) {
        throw cannotRead(e);
      }
    };
    let n = await read(buf);
    if (isGzip(buf.subarray(0, n))) {
      const rest = async (): Promise<Uint8Array | null> => {
        const m = await read(buf);
        return m === 0 ? null : buf.slice(0, m); // zlib may hold on to its input
      };
      await gunzipInto(parser, prepend(buf.slice(0, n), rest), opts);
      return true;
    }
    for (; n > 0; n = await read(buf)) {
      parser.push(buf.subarray(0, n));
      if (parser.done) return false;
      opts.signal?.throwIfAborted();
    }
    return false;
  } finally {
    await fh.close();
  }
}

/** Yields `first`, then what `next` gives until it gives null. */
async function* prepend(first: Uint8Array, next: () => Promise<Uint8Array | null>): AsyncGenerator<Uint8Array> {
  yield first;
  for (let c = await next(); c !== null; c = await next()) yield c;
}

function toBytes(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
}

/** Wraps a stream iterator so that its I/O errors become MirrorlensErrors naming the input. */
function guarded(parser: CaptureParser, inner: AsyncIterator<Uint8Array | string>): AsyncIterator<Uint8Array | string> {
  return {
    async next() {
      try {
        return await inner.next();
      } catch (e) {
        if (e instanceof MirrorlensError) throw e;
        throw new MirrorlensError(ErrorCode.FileOpen, `cannot read capture: ${(e as Error).message}`, { file: parser.file, byteOffset: parser.bytes }, { cause: e });
      }
    },
    async return() {
      return (await inner.return?.()) ?? { done: true, value: undefined };
    },
  };
}

async function readStream(parser: CaptureParser, input: NodeJS.ReadableStream, opts: ReadCaptureOptions): Promise<boolean> {
  const it = guarded(parser, (input as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]());
  try {
    return await readIterator(parser, it, opts);
  } catch (e) {
    // Not a capture, aborted, a corrupt block: the stream is given up, so it is closed here
    // (a file behind it would otherwise stay open until garbage collection).
    await it.return?.().catch(() => {});
    throw e;
  }
}

async function readIterator(parser: CaptureParser, it: AsyncIterator<Uint8Array | string>, opts: ReadCaptureOptions): Promise<boolean> {
  // The first two bytes decide gzip or not.
  let head: Uint8Array = new Uint8Array(0);
  while (head.length < 2) {
    const r = await it.next();
    if (r.done) break;
    head = head.length === 0 ? toBytes(r.value) : Buffer.concat([head, toBytes(r.value)]);
  }
  if (head.length === 0) return false;
  if (isGzip(head)) {
    const first = head;
    async function* all(): AsyncGenerator<Uint8Array> {
      yield first;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield toBytes(r.value);
      }
    }
    await gunzipInto(parser, all(), opts);
    return true;
  }
  parser.push(head);
  return drain(parser, it, opts);
}

async function drain(parser: CaptureParser, it: AsyncIterator<Uint8Array | string>, opts: ReadCaptureOptions): Promise<boolean> {
  while (!parser.done) {
    opts.signal?.throwIfAborted();
    const r = await it.next();
    if (r.done) break;
    parser.push(toBytes(r.value));
  }
  if (parser.done) await it.return?.();
  return false;
}

/** Counts the compressed bytes going into gunzip (for warnings). */
async function* counted(src: AsyncIterable<Uint8Array>, n: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const c of src) {
    n.bytes += c.length;
    yield c;
  }
}

async function gunzipInto(parser: CaptureParser, source: AsyncIterable<Uint8Array>, opts: ReadCaptureOptions): Promise<void> {
  const gunzip = createGunzip();
  const compressed = { bytes: 0 };
  // Our own errors are kept aside: pipeline may reject with a stream error caused by them.
  let ours: unknown = null;
  try {
    await pipeline(Readable.from(counted(source, compressed)), gunzip, async function (out: AsyncIterable<Uint8Array>) {
      for await (const chunk of out) {
        try {
          parser.push(chunk);
          if (parser.done) return;
          opts.signal?.throwIfAborted();
        } catch (e) {
          ours = e;
          throw e;
        }
      }
    });
  } catch (e) {
    if (ours !== null) throw ours;
    if (parser.done) return; // we stopped early on purpose
    opts.signal?.throwIfAborted();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
      const what = err.code === 'Z_BUF_ERROR' ? 'the gzip stream is cut off' : `the gzip data is corrupt (${err.message})`;
      parser.warnExternal(`${what} after ${compressed.bytes} compressed bytes; packets up to here were read`, parser.bytes);
      return;
    }
    if (e instanceof MirrorlensError) throw e;
    throw new MirrorlensError(ErrorCode.FileOpen, `cannot read capture: ${(e as Error).message}`, { file: parser.file, byteOffset: parser.bytes }, { cause: e });
  }
  if (ours !== null) throw ours;
}

/** Reads a file to the end and returns the summary (no packet callback): for counting. */
export function summarizeCapture(input: string, opts: ReadCaptureOptions = {}): Promise<CaptureSummary> {
  return readCapture(input, () => undefined, opts);
}

/** Convenience for CLI use: a `readCapture` over a stream named "-" means stdin. */
export function captureInput(path: string): string | NodeJS.ReadableStream {
  return path === '-' ? process.stdin : path;
}

/** A (file, byteOffset) error for callers that fail on warnings. */
export function warningError(w: { message: string; byteOffset: number; file: string }): MirrorlensError {
  return new MirrorlensError(ErrorCode.CaptureCorrupt, w.message, { file: w.file, byteOffset: w.byteOffset });
}
