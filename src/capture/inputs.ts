/**
 * What a capture command's arguments name, expanded to the files to read, in order:
 * - `-`: standard input;
 * - a file: itself (whatever its name: the format is detected from its bytes);
 * - a directory: the capture files in it and under it (`.pcap`, `.pcapng`, `.cap`, tcpdump -C's
 *   `.pcap1`..., each optionally `.gz`; dot-files skipped), in natural name order, which is time
 *   order for `listen --out` (`mirrorlens-20261125T203518.123Z.pcapng`), tcpdump -C/-G and
 *   Wireshark ring buffers (`cap_00001_20240501120000.pcapng`);
 * - a glob (`*`, `?`, `[...]`, `**`; quoted so the shell left it alone): the matching files, in the same order;
 * - `s3://bucket/prefix/`: the capture files under it (one object when the URL names one), streamed
 *   from S3 when read (capture/sources/s3.ts).
 * Arguments keep the order given; a file named twice is read once. Errors are MirrorlensErrors
 * naming the argument: nothing there, a glob matching nothing, a directory without captures.
 */
import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { fileProblem } from './file-problem.js';

/** File names a directory walk takes as captures. */
export const CAPTURE_NAME = /\.(pcapng|pcap|cap)\d*(\.gz)?$/i;

// Made on first use: an Intl.Collator costs ~3 ms and ~3 MB (ICU data) in every process that
// imports this module, and most runs name their capture files one by one.
let collator: Intl.Collator | null = null;

/** Natural order: `cap.pcap2` before `cap.pcap10`. */
export function naturalCompare(a: string, b: string): number {
  collator ??= new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });
  return collator.compare(a, b);
}

function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

export { fileProblem } from './file-problem.js';

async function walk(dir: string, out: string[]): Promise<void> {
  const entries: { name: string; dir: boolean }[] = [];
  let d;
  try {
    d = await opendir(dir);
  } catch (e) {
    throw new MirrorlensError(ErrorCode.FileOpen, `cannot open directory: ${fileProblem(e)}`, { file: dir });
  }
  for await (const e of d) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) entries.push({ name: e.name, dir: true });
    else if ((e.isFile() || e.isSymbolicLink()) && CAPTURE_NAME.test(e.name)) entries.push({ name: e.name, dir: false });
  }
  entries.sort((a, b) => naturalCompare(a.name, b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.dir) await walk(p, out);
    else out.push(p);
  }
}

async function globFiles(pattern: string): Promise<string[]> {
  const { glob } = await import('tinyglobby');
  const found = await glob([pattern], { onlyFiles: true, dot: false, expandDirectories: false, absolute: pattern.startsWith('/') });
  return found.sort(naturalCompare);
}

/**
 * Expands capture arguments to the files to read (see the module comment). `-` stays `-`.
 */
export async function expandCaptureInputs(args: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string): void => {
    if (p !== '-' && seen.has(p)) return;
    seen.add(p);
    out.push(p);
  };
  for (const arg of args) {
    if (arg === '-') {
      add(arg);
      continue;
    }
    if (arg.startsWith('s3://')) {
      // Capture files under an S3 prefix (or one object), read later as streams.
      const { resolveInputs } = await import('./sources/source.js');
      const found = await resolveInputs([arg], { accept: (name) => CAPTURE_NAME.test(name) });
      if (found.length === 0) throw new MirrorlensError(ErrorCode.FileOpen, 'no capture file (*.pcap, *.pcapng, *.cap, optionally .gz) under this prefix', { file: arg });
      for (const f of found) add(f.name);
      continue;
    }
    let st;
    try {
      st = await stat(arg);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && isGlob(arg)) {
        const files = await globFiles(arg);
        if (files.length === 0) throw new MirrorlensError(ErrorCode.FileOpen, 'no file matches this pattern', { file: arg });
        files.forEach(add);
        continue;
      }
      throw new MirrorlensError(ErrorCode.FileOpen, `cannot open: ${fileProblem(e)}`, { file: arg });
    }
    if (st.isDirectory()) {
      const files: string[] = [];
      await walk(arg, files);
      if (files.length === 0) {
        throw new MirrorlensError(ErrorCode.FileOpen, 'directory holds no capture file (*.pcap, *.pcapng, *.cap, optionally .gz)', { file: arg });
      }
      files.forEach(add);
    } else {
      add(arg);
    }
  }
  return out;
}
