/**
 * Inputs by name: what a user may give where a capture or a log is expected. A local path, `-`
 * (stdin), a directory (walked), `s3://bucket/prefix/` (listed, pruned to a time window when the
 * keys follow AWS's log layout), or `cwl://LOG_GROUP` (CloudWatch Logs, flow logs only).
 *
 * Each input becomes one or more InputSources: a name for messages and a way to open the bytes as a
 * stream. Opening is lazy, so a listing of a thousand S3 objects holds no connection until read.
 */
import { createReadStream } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MirrorlensError } from '../../wire/errors.js';
import type { InputSource, ResolveOptions } from './types.js';
import { fileProblem } from '../file-problem.js';

export type { InputSource, ListingReport, ResolveOptions, SourceKind } from './types.js';

export function isRemote(spec: string): boolean {
  return spec.startsWith('s3://') || spec.startsWith('cwl://');
}

/** A local file as an InputSource. */
export function fileSource(path: string, size: number | null = null): InputSource {
  return {
    kind: 'file',
    name: path,
    path,
    size,
    // 64 KiB reads: chunks are freed only when V8 next collects, so bigger ones let a large part of
    // a log sit in memory at once for no gain in speed.
    open: async () => createReadStream(path, { highWaterMark: 1 << 16 }),
  };
}

export function stdinSource(stream: NodeJS.ReadableStream = process.stdin): InputSource {
  return { kind: 'stdin', name: '-', size: null, open: async () => stream };
}

/** Skipped when walking directories: dot-files, and the test file ELB writes when logging is enabled. */
export function skipLocalName(name: string): boolean {
  return name.startsWith('.') || name === 'ELBAccessLogTestFile';
}

async function walk(dir: string, out: InputSource[], accept: ((name: string) => boolean) | undefined): Promise<void> {
  const names: { name: string; dir: boolean }[] = [];
  const d = await opendir(dir);
  for await (const e of d) {
    if (skipLocalName(e.name)) continue;
    if (e.isDirectory()) names.push({ name: e.name, dir: true });
    else if (e.isFile() || e.isSymbolicLink()) names.push({ name: e.name, dir: false });
  }
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const n of names) {
    const p = join(dir, n.name);
    if (n.dir) await walk(p, out, accept);
    else if (accept === undefined || accept(n.name)) out.push(fileSource(p));
  }
}

/** A local path (file or directory, walked recursively in name order) or `-`. */
export async function resolveLocal(spec: string, opts: ResolveOptions = {}): Promise<InputSource[]> {
  if (spec === '-') return [stdinSource(opts.stdin)];
  let st;
  try {
    st = await stat(spec);
  } catch (e) {
    throw new MirrorlensError(ErrorCode.FileOpen, `cannot open: ${fileProblem(e)}`, { file: spec });
  }
  if (!st.isDirectory()) return [fileSource(spec, st.size)];
  const out: InputSource[] = [];
  await walk(spec, out, opts.accept);
  if (out.length === 0) throw new MirrorlensError(ErrorCode.FileOpen, 'directory holds no file to read', { file: spec });
  return out;
}

/**
 * Resolves every input, in the order given, to the sources to read. Remote inputs (s3://, cwl://)
 * load the AWS SDK only when used.
 */
export async function resolveInputs(specs: readonly string[], opts: ResolveOptions = {}): Promise<InputSource[]> {
  const out: InputSource[] = [];
  for (const spec of specs) {
    if (spec.startsWith('s3://')) {
      const { resolveS3 } = await import('./s3.js');
      out.push(...(await resolveS3(spec, opts)));
    } else if (spec.startsWith('cwl://')) {
      const { resolveCloudWatchLogs } = await import('./cwl.js');
      out.push(...(await resolveCloudWatchLogs(spec, opts)));
    } else {
      out.push(...(await resolveLocal(spec, opts)));
    }
  }
  return out;
}
