/**
 * Output files and directories (--out, --evidence): checked before a long run starts, written
 * whole, and every failure one line naming the path (never a silent exit 0).
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileProblem } from '../capture/inputs.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

function outputError(path: string, what: string, why: string): MirrorlensError {
  return new MirrorlensError(ErrorCode.OutputWrite, `cannot write ${what}: ${why}`, { file: path });
}

/** Checks that `path` can be created or replaced as a file: its directory exists, it is not a directory. */
export async function checkOutputFile(path: string, what: string): Promise<void> {
  if (path === '-') return;
  if (path.endsWith('/')) throw outputError(path, what, 'names a directory; give a file name');
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw outputError(path, what, 'is a directory; give a file name');
    return;
  } catch (e) {
    if (e instanceof MirrorlensError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outputError(path, what, fileProblem(e));
  }
  const dir = dirname(resolve(path));
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw outputError(path, what, `${dirname(path)} is not a directory`);
  } catch (e) {
    if (e instanceof MirrorlensError) throw e;
    throw outputError(path, what, `directory ${dirname(path)} does not exist`);
  }
}

/** Checks that `path` is a directory or can be made one (its missing parents are made too). */
export async function checkOutputDir(path: string, what: string): Promise<void> {
  try {
    const st = await stat(path);
    if (!st.isDirectory()) throw outputError(path, what, 'exists and is not a directory');
    return;
  } catch (e) {
    if (e instanceof MirrorlensError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outputError(path, what, fileProblem(e));
  }
  try {
    await mkdir(path, { recursive: true });
  } catch (e) {
    throw outputError(path, what, fileProblem(e));
  }
}

/** Writes `text` to `path` (`-` is stdout), turning any failure into one line naming the path. */
export async function writeOutputFile(path: string, text: string, what: string, stdout?: NodeJS.WritableStream): Promise<void> {
  if (path === '-' && stdout) {
    stdout.write(text);
    return;
  }
  try {
    await writeFile(path, text);
  } catch (e) {
    throw outputError(path, what, fileProblem(e));
  }
}
