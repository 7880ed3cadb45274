/**
 * Reading a key log file named on the command line: one clear error when it cannot be read or is
 * not a key log at all (a capture given by mistake, an empty file), instead of a warning for every
 * line of binary data.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { fileProblem } from '../capture/inputs.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import type { KeyLog, KeyLogIssue } from './keylog.js';

/** What a binary file given as a key log most likely is, from its first bytes. */
function binaryKind(b: Buffer): string | null {
  const u32 = b.length >= 4 ? b.readUInt32LE(0) : 0;
  if (u32 === 0x0a0d0d0a) return 'a pcapng capture';
  if (u32 === 0xa1b2c3d4 || u32 === 0xd4c3b2a1 || u32 === 0xa1b23c4d || u32 === 0x4d3cb2a1) return 'a pcap capture';
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip data (decompress it first)';
  const head = b.subarray(0, 4096);
  return head.includes(0) ? 'binary data' : null;
}

/**
 * Reads a key log file into `keys` and returns the issues of its lines. Throws a MirrorlensError
 * naming the file when it cannot be read (ML_FILE_OPEN), or when it is binary, empty, or holds
 * no key-log line at all (ML_KEYLOG_PARSE).
 */
export async function loadKeyLogFile(path: string, keys: KeyLog, encoding: 'utf8' | 'latin1' = 'utf8'): Promise<{ text: string; issues: KeyLogIssue[] }> {
  let text: string;
  try {
    // The first bytes say whether it is text at all; the text is read as a string straight away
    // (no Buffer copy kept alongside it: a key log can be large). Read at once, not through the
    // threadpool: the caller has nothing else to do meanwhile (analyze's native first pass
    // runs on the threadpool).
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(4096);
      const kind = binaryKind(b.subarray(0, readSync(fd, b, 0, b.length, 0)));
      if (kind !== null) throw new MirrorlensError(ErrorCode.KeylogParse, `not a TLS key log (SSLKEYLOGFILE): this is ${kind}`, { file: path });
      text = readFileSync(fd, encoding);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof MirrorlensError) throw e;
    throw new MirrorlensError(ErrorCode.FileOpen, `cannot read key log: ${fileProblem(e)}`, { file: path });
  }
  // The lines are counted while they are read (the count decides the errors below).
  // (A text of one byte per character is checked faster: read as latin1, or UTF-8 all ASCII.)
  const oneByte = encoding === 'latin1' || Buffer.byteLength(text, 'utf8') === text.length;
  const { issues, keyLines } = keys.addWholeText(text, path, oneByte);
  if (keyLines === 0) throw new MirrorlensError(ErrorCode.KeylogParse, 'not a TLS key log (SSLKEYLOGFILE): the file holds no key line', { file: path });
  if (issues.length >= keyLines) {
    const first = issues[0]!;
    throw new MirrorlensError(ErrorCode.KeylogParse, `not a TLS key log (SSLKEYLOGFILE): no line of it is one (line ${first.line}: ${first.message})`, { file: path });
  }
  return { text, issues };
}
