/**
 * Key log files read at the start of a batch analysis.
 */
import { readFile } from 'node:fs/promises';
import { formatKeyLogIssue, type KeyLog } from '../tls/keylog.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

/**
 * Adds key log files to `keys` (and their texts to `keep`, when given). A function of its own:
 * a suspended async function keeps its locals, and analyze() would hold the last file's whole
 * text for the rest of the run.
 */
export async function readKeyLogs(files: string[], keys: KeyLog, note: (m: string) => void, keep: string[] | null): Promise<void> {
  for (const k of files) {
    let text: string;
    try {
      text = await readFile(k, 'utf8');
    } catch (e) {
      throw new MirrorlensError(ErrorCode.FileOpen, `cannot read key log: ${(e as Error).message}`, { file: k });
    }
    keep?.push(text);
    for (const issue of keys.addText(text, k)) note(formatKeyLogIssue(issue));
  }
}
