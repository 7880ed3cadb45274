/**
 * `mirrorlens follow CAPTURE... --conn UID [--keylog FILE]... [--raw|--hex]`: one connection's
 * byte streams, decrypted when it is TLS and keys are known, like Wireshark's Follow Stream.
 * Captured bytes are hostile: the text view escapes every control byte (no terminal escape
 * sequence gets through); --raw refuses to write to a terminal.
 */
import type { CliIO, Command } from './command.js';
import { captureArgs, parseCommandArgs } from './command.js';
import { expandCaptureInputs } from '../capture/inputs.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { escapeText } from '../report/escape.js';
import { processCaptures } from '../flow/pipeline.js';
import type { ConnInfo, Direction, StreamSink } from '../flow/stream.js';
import { createAppSink, type AppSink } from '../tls/sniff.js';
import { loadKeyLogs, reportIssues, statusOf } from './tls.js';
import { isoMs } from '../capture/time-text.js';

const USAGE = `Usage: mirrorlens follow CAPTURE... --conn UID [--keylog FILE]... [options]
       mirrorlens follow --store URL --conn UID [--keylog FILE]... [options]

Prints one connection's data in both directions, in capture order, like
Wireshark's Follow TCP/TLS Stream. TLS connections are decrypted with the key
logs (--keylog, and Decryption Secrets Blocks inside pcapng captures); a TLS
connection that cannot be decrypted is shown as its captured TLS records, as
Wireshark does; other connections as captured. Connection uids come from
'mirrorlens tls' or 'mirrorlens conns'. CAPTURE may be a directory or a glob.

Options:
      --conn UID     the connection to follow (required)
  -k, --keylog FILE  NSS key log (repeatable)
      --dir DIR      client, server or both (default both)
      --hex          hex dump (offset, hex bytes, ASCII) instead of text
      --raw          the bytes as they are (for redirecting to a file; refused
                     on a terminal)
      --store URL    find the connection's capture files in a store (docs/store.md)
                     instead of naming them
  -h, --help         this help

Output: a first line "Follow TLS stream UID (CLIENT -> SERVER), VERSION SUITE,
SNI ..., decrypted plaintext" (or "Follow TCP stream ..."); then, at each
change of direction, a line "=== client -> server, offset N, at TIME" (or
server -> client) followed by the data; "=== gap of N bytes in DIRECTION at
offset N" marks data the capture missed. Text view: printable ASCII, newlines
and tabs as they are; every other byte as \\xNN (so captured data cannot drive
your terminal). Byte counts each way go to stderr. Exit 1 when a TLS connection
could not be decrypted (its records are shown as captured).
`;

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function fmtTime(t: number): string {
  return Number.isFinite(t) ? (isoMs(Math.round(t * 1e6) / 1000) ?? String(t)) : '-';
}

/** Printable ASCII, \n and \t kept; \r before \n dropped; everything else as \xNN. */
export function escapeBytes(b: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = offset; i < offset + length; i++) {
    const c = b[i]!;
    if ((c >= 0x20 && c < 0x7f && c !== 0x5c) || c === 0x0a || c === 0x09) s += String.fromCharCode(c);
    else if (c === 0x5c) s += '\\\\';
    else if (c === 0x0d && i + 1 < offset + length && b[i + 1] === 0x0a) continue;
    else s += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** Hex dump lines "OFFSET  hex bytes  |ascii|" starting at stream offset `base`. */
export function hexDump(b: Uint8Array, offset: number, length: number, base: number): string {
  let out = '';
  for (let i = 0; i < length; i += 16) {
    const n = Math.min(16, length - i);
    let hex = '';
    let ascii = '';
    for (let j = 0; j < 16; j++) {
      if (j < n) {
        const c = b[offset + i + j]!;
        hex += `${c.toString(16).padStart(2, '0')} `;
        ascii += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
      } else hex += '   ';
      if (j === 7) hex += ' ';
    }
    out += `${(base + i).toString(16).padStart(8, '0')}  ${hex} |${ascii}|\n`;
  }
  return out;
}

/** Bytes of a connection kept to show it as captured when its TLS does not decrypt. */
const MAX_CAPTURED_BYTES = 16 * 1024 * 1024;

/** The capture files a store says hold a connection (they must still be on disk: a ring may have deleted them). */
async function filesFromStore(url: string, uid: string, io: CliIO): Promise<string[]> {
  const { openReader } = await import('../store/open.js');
  const { locateConnection } = await import('../store/locate.js');
  const reader = await openReader(url);
  try {
    const loc = await locateConnection(reader, uid);
    if (!loc) throw new MirrorlensError(ErrorCode.Usage, `connection ${escapeText(uid)} is not in the store ${reader.where}`);
    const { existsSync } = await import('node:fs');
    const present = loc.files.filter((f) => existsSync(f));
    if (present.length === 0) throw new MirrorlensError(ErrorCode.FileOpen, `the capture files of connection ${escapeText(uid)} (node ${escapeText(loc.node)}) are gone: ${loc.files.map(escapeText).join(', ')}`);
    io.stderr.write(`follow: ${uid} was recorded by ${escapeText(loc.node)} in ${present.map(escapeText).join(', ')}\n`);
    return present;
  } finally {
    await reader.close();
  }
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals: args } = parseCommandArgs('follow', argv, {
    read: { type: 'string', multiple: true },
    conn: { type: 'string' },
    keylog: { type: 'string', multiple: true },
    dir: { type: 'string' },
    hex: { type: 'boolean' },
    raw: { type: 'boolean' },
    store: { type: 'string' },
  });
  const named = captureArgs(values, args);
  if (named.length === 0 && values.store !== undefined && typeof values.conn === 'string' && values.conn !== '') named.push(...(await filesFromStore(values.store as string, values.conn, io)));
  if (named.length === 0) throw new MirrorlensError(ErrorCode.Usage, "give a CAPTURE file (see 'mirrorlens follow --help')");
  const uid = values.conn as string | undefined;
  if (uid === undefined || uid === '') throw new MirrorlensError(ErrorCode.Usage, "--conn UID is required (uids are listed by 'mirrorlens tls' and 'mirrorlens conns')");
  const dirOpt = (values.dir as string | undefined) ?? 'both';
  if (!['client', 'server', 'both'].includes(dirOpt)) throw new MirrorlensError(ErrorCode.Usage, `--dir wants client, server or both, got '${escapeText(dirOpt)}'`);
  const mode = values.raw === true ? 'raw' : values.hex === true ? 'hex' : 'text';
  if (values.raw === true && values.hex === true) throw new MirrorlensError(ErrorCode.Usage, '--raw and --hex exclude each other');
  if (mode === 'raw' && io.stdout.isTTY === true) {
    throw new MirrorlensError(ErrorCode.Usage, '--raw writes captured bytes unescaped; redirect it to a file or a pipe (or use --hex)');
  }
  const keys = await loadKeyLogs('follow', (values.keylog as string[] | undefined) ?? [], io);
  const positionals = await expandCaptureInputs(named);
  // The connection's bytes as captured, for a TLS connection that turns out not to decrypt
  // (shown as its TLS records, as Wireshark does). Bounded: beyond it, the rest is not shown.
  const captured: { dir: Direction; data: Uint8Array; streamOffset: number; time: number }[] = [];
  let capturedBytes = 0;
  const out = io.stdout;
  const want = (d: Direction): boolean => dirOpt === 'both' || (dirOpt === 'client' ? d === 0 : d === 1);
  let found: { conn: ConnInfo; sink: AppSink } | null = null;
  let lastDir = -1;
  let headerDone = false;
  const bytesOut = [0, 0];
  const abort = new AbortController();

  const header = (conn: ConnInfo, tls: boolean): void => {
    if (headerDone || mode === 'raw') return;
    headerDone = true;
    const t = found?.sink.tls ?? null;
    const what = tls && t !== null
      ? `TLS stream ${conn.uid} (${endpoint(conn.clientAddr, conn.clientPort)} -> ${endpoint(conn.serverAddr, conn.serverPort)}), ${t.version ?? '?'} ${t.cipherSuite?.name ?? ''}${t.sni ? `, SNI ${escapeText(t.sni)}` : ''}${t.alpn ? `, ALPN ${escapeText(t.alpn)}` : ''}, decrypted plaintext`
      : `TCP stream ${conn.uid} (${endpoint(conn.clientAddr, conn.clientPort)} -> ${endpoint(conn.serverAddr, conn.serverPort)}), not TLS: bytes as captured`;
    out.write(`Follow ${what}\n`);
  };

  const plainSink = (conn: ConnInfo, tls: boolean): StreamSink => ({
    data(dir, bytes, offset, length, streamOffset, time) {
      if (!want(dir)) return;
      header(conn, tls);
      bytesOut[dir]! += length;
      if (mode === 'raw') {
        out.write(Buffer.from(bytes.subarray(offset, offset + length)));
        return;
      }
      if (dir !== lastDir) {
        if (mode === 'text' && lastDir !== -1) out.write('\n');
        out.write(`=== ${dir === 0 ? 'client -> server' : 'server -> client'}, offset ${streamOffset}, at ${fmtTime(time)}\n`);
        lastDir = dir;
      }
      out.write(mode === 'hex' ? hexDump(bytes, offset, length, streamOffset) : escapeBytes(bytes, offset, length));
    },
    gap(dir, streamOffset, length) {
      if (!want(dir) || mode === 'raw') return;
      header(conn, tls);
      out.write(`${mode === 'text' ? '\n' : ''}=== gap of ${length} bytes in ${dir === 0 ? 'client -> server' : 'server -> client'} at offset ${streamOffset}\n`);
      lastDir = -1;
    },
    end() {},
  });

  try {
    await processCaptures(
      positionals,
      {
        onSecrets(type, data) {
          reportIssues('follow', keys.addDsb(type, data), io);
        },
        onConnectionStart(conn) {
          if (conn.uid !== uid) return null;
          const sink = createAppSink(conn, keys, (c, info) => plainSink(c, info.tls !== null));
          found = { conn, sink };
          return {
            data(dir, bytes, offset, length, streamOffset, time) {
              if (capturedBytes < MAX_CAPTURED_BYTES) {
                captured.push({ dir, data: bytes.slice(offset, offset + length), streamOffset, time });
                capturedBytes += length;
              }
              sink.data(dir, bytes, offset, length, streamOffset, time);
            },
            gap: (dir, streamOffset, length, time) => sink.gap(dir, streamOffset, length, time),
            end: (dir, reason, time) => sink.end(dir, reason, time),
          };
        },
        onConnectionEnd(r) {
          if (r.uid === uid) abort.abort(new Error('done'));
        },
        onWarning(w) {
          io.stderr.write(`mirrorlens follow: ${escapeText(w.file)} (byte offset ${w.byteOffset}): ${escapeText(w.message)}\n`);
        },
      },
      { signal: abort.signal },
    );
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  }
  const f = found as { conn: ConnInfo; sink: AppSink } | null;
  if (f === null) {
    throw new MirrorlensError(ErrorCode.Usage, `no connection with uid '${escapeText(uid)}' in ${positionals.map(escapeText).join(', ')} (uids are listed by 'mirrorlens tls' and 'mirrorlens conns')`);
  }
  const t = f.sink.tls;
  if (t !== null && !t.decrypted && !headerDone) {
    // Nothing decrypted: the TLS records as captured.
    headerDone = true;
    if (mode !== 'raw') {
      const c = f.conn;
      out.write(`Follow TLS stream ${c.uid} (${endpoint(c.clientAddr, c.clientPort)} -> ${endpoint(c.serverAddr, c.serverPort)}), ${t.version ?? '?'}${t.sni ? `, SNI ${escapeText(t.sni)}` : ''}, not decrypted (${statusOf(t)}): TLS records as captured\n`);
    }
    const raw = plainSink(f.conn, true);
    for (const ch of captured) raw.data(ch.dir, ch.data, 0, ch.data.length, ch.streamOffset, ch.time);
    if (capturedBytes >= MAX_CAPTURED_BYTES && mode !== 'raw') out.write(`\n=== (only the first ${MAX_CAPTURED_BYTES} bytes are shown)\n`);
  }
  if (mode === 'text' && lastDir !== -1) out.write('\n');
  if (t !== null) {
    const status = statusOf(t);
    if (status !== 'decrypted') {
      io.stderr.write(`mirrorlens follow: ${f.conn.uid}: TLS ${status}${t.problems.length ? `: ${escapeText(t.problems.join('; '))}` : ''}\n`);
      if (!t.decrypted) return 1;
    }
  }
  if (mode !== 'raw') io.stderr.write(`${bytesOut[0]} bytes client -> server, ${bytesOut[1]} bytes server -> client\n`);
  return 0;
}

export const command: Command = {
  summary: "print a connection's decrypted (TLS) or captured byte streams, like Wireshark's Follow Stream",
  usage: USAGE,
  run,
};
