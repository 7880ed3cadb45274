/**
 * Key log files read at the start of a batch analysis.
 */
import { formatKeyLogIssue, type KeyLog } from '../tls/keylog.js';
import { loadKeyLogFile } from '../tls/keylog-file.js';

/**
 * Adds key log files to `keys` (and their texts to `keep`, when given). A function of its own:
 * a suspended async function keeps its locals, and analyze() would hold the last file's whole
 * text for the rest of the run. A file that is not a key log at all is an error (keylog-file.ts).
 */
export async function readKeyLogs(files: string[], keys: KeyLog, note: (m: string) => void, keep: string[] | null): Promise<void> {
  for (const k of files) {
    const { text, issues } = await loadKeyLogFile(k, keys);
    keep?.push(text);
    for (const issue of issues) note(formatKeyLogIssue(issue));
  }
}
