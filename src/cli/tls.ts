/**
 * `mirrorlens tls CAPTURE... [--keylog FILE]... [--json]`: one line per TLS connection with its
 * version, cipher suite, SNI, ALPN, resumption, alerts and whether (and why not) it decrypted.
 */
import type { CliIO, Command } from './command.js';
import { captureArgs, parseCommandArgs } from './command.js';
import { wrapHanging, wrapWidth } from './terminal.js';
import { expandCaptureInputs } from '../capture/inputs.js';
import { loadKeyLogFile } from '../tls/keylog-file.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { escapeText, safeJson } from '../report/escape.js';
import { processCaptures } from '../flow/pipeline.js';
import type { ConnInfo } from '../flow/stream.js';
import { KeyLog, formatKeyLogIssue, type KeyLogIssue } from '../tls/keylog.js';
import { createAppSink, type AppSink } from '../tls/sniff.js';
import type { TlsSessionInfo } from '../tls/session.js';
import { isoMs } from '../capture/time-text.js';

const USAGE = `Usage: mirrorlens tls CAPTURE... [--keylog FILE]... [options]

Lists the TLS connections in pcap/pcapng captures (plain, .gz, VXLAN/GENEVE
mirrored) and whether each one could be decrypted: version, cipher suite, SNI,
ALPN offered and chosen, resumption, alerts (decrypted when they were
encrypted), and why a connection did not decrypt (no-key, auth-failed = wrong
key, unsupported-suite, capture-gap, no-handshake). CAPTURE may be a directory
(listen --out) or a quoted glob; -r FILE names one too.

Keys come from NSS key log files (SSLKEYLOGFILE, as curl, browsers, Node's
keylog event, OpenSSL -keylogfile, Go KeyLogWriter write them; --keylog may
repeat) and from Decryption Secrets Blocks inside pcapng captures. Secrets are
never printed.

Options:
  -k, --keylog FILE  NSS key log (repeatable); malformed lines are reported and
                     skipped; a file with no key line at all is an error
  -j, --json         JSON lines: {"kind":"tls",...}
  -h, --help         this help

Columns: start time, uid, client -> server, version, cipher suite, SNI, ALPN,
resumed, status (decrypted or the reason it did not), alerts, first problem.
`;

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function fmtTime(t: number): string {
  return Number.isFinite(t) ? (isoMs(Math.round(t * 1000)) ?? String(t)) : '-';
}

/** Loads every --keylog file; issues go to stderr as "file:line: message" (never a secret). */
/** Key log files named on the command line (a file that is not a key log at all is an error). */
export async function loadKeyLogs(cmd: string, files: string[], io: CliIO): Promise<KeyLog> {
  const keys = new KeyLog();
  for (const f of files) reportIssues(cmd, (await loadKeyLogFile(f, keys, 'latin1')).issues, io);
  return keys;
}

export function reportIssues(cmd: string, issues: KeyLogIssue[], io: CliIO): void {
  const max = 20;
  for (const i of issues.slice(0, max)) io.stderr.write(`mirrorlens ${cmd}: ${escapeText(formatKeyLogIssue(i))} (skipped)\n`);
  if (issues.length > max) io.stderr.write(`mirrorlens ${cmd}: ... ${issues.length - max} more malformed key log lines\n`);
}

export function statusOf(t: TlsSessionInfo): string {
  if (t.notDecryptedReason !== null) return t.decrypted ? `partial:${t.notDecryptedReason}` : t.notDecryptedReason;
  if (t.decrypted) return 'decrypted';
  return t.recordsDecrypted === 0 && t.versionCode === null ? 'no-handshake' : 'no-data';
}

function alertsText(t: TlsSessionInfo): string {
  if (t.alerts.length === 0) return '-';
  return t.alerts
    .map((a) => `${a.dir === 0 ? 'c' : 's'}:${a.level ?? '?'}:${a.description ?? 'encrypted'}`)
    .join(',');
}

const COLS: [string, number][] = [
  ['start', 24],
  ['uid', 19],
  ['client -> server', 44],
  ['version', 8],
  ['cipher suite', 44],
  ['sni', 24],
  ['alpn', 9],
  ['resumed', 10],
  ['status', 18],
  ['alerts', 0],
];

function rowOf(conn: ConnInfo, t: TlsSessionInfo): string[] {
  return [
    fmtTime(conn.startTime),
    conn.uid,
    `${endpoint(conn.clientAddr, conn.clientPort)} -> ${endpoint(conn.serverAddr, conn.serverPort)}`,
    t.version ?? '-',
    t.cipherSuite?.name ?? '-',
    escapeText(t.sni ?? '-'),
    escapeText(t.alpn ?? (t.alpnOffered.length ? `(${t.alpnOffered.join('/')})` : '-')),
    t.resumedBy ?? 'no',
    statusOf(t),
    escapeText(alertsText(t)),
  ];
}

const TABLE_WIDTH = COLS.reduce((a, c) => a + c[1] + 1, 0) + 24;

/** TSV in a pipe; a table row on a wide terminal; two wrapped lines on a narrow one. */
function formatRow(cells: string[], width: number | null, header = false): string {
  if (width === null) return cells.join('\t');
  if (width >= TABLE_WIDTH) return cells.map((c, i) => (COLS[i]![1] > 0 ? c.padEnd(COLS[i]![1]) : c)).join(' ').trimEnd();
  if (header) return 'start  uid  client -> server  status\n    version, cipher suite, SNI, ALPN, resumed, alerts';
  const [start, uid, cs, version, suite, sni, alpn, resumed, status, alerts] = cells;
  return `${wrapHanging(`${start} ${uid} ${cs} ${status}`, width, 4)}\n${wrapHanging(`    ${version}  ${suite}  sni ${sni}  alpn ${alpn}  resumed ${resumed}  alerts ${alerts}`, width, 6)}`;
}

/** JSON form of a TLS record (all captured strings kept as-is: JSON.stringify escapes them). */
export function tlsJson(conn: ConnInfo, t: TlsSessionInfo): Record<string, unknown> {
  return {
    kind: 'tls',
    startTime: conn.startTime,
    client: endpoint(conn.clientAddr, conn.clientPort),
    server: endpoint(conn.serverAddr, conn.serverPort),
    capturePoint: conn.capturePoint,
    status: statusOf(t),
    ...t,
  };
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals: args } = parseCommandArgs('tls', argv, {
    read: { type: 'string', multiple: true },
    keylog: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  const named = captureArgs(values, args);
  if (named.length === 0) throw new MirrorlensError(ErrorCode.Usage, "give at least one CAPTURE file (see 'mirrorlens tls --help')");
  const json = values.json === true;
  const keys = await loadKeyLogs('tls', (values.keylog as string[] | undefined) ?? [], io);
  const positionals = await expandCaptureInputs(named);
  const width = json ? null : wrapWidth(io);
  const tty = width !== null;
  const out = io.stdout;
  const sinks = new Map<string, { conn: ConnInfo; sink: AppSink }>();
  let tlsCount = 0;
  let decrypted = 0;
  const reasons = new Map<string, number>();
  let headerDone = json;
  const header = (): void => {
    if (!headerDone) out.write(`${formatRow(COLS.map((c) => c[0]), width, true)}\n`);
    headerDone = true;
  };
  const summary = await processCaptures(positionals, {
    onSecrets(type, data) {
      reportIssues('tls', keys.addDsb(type, data), io);
    },
    onConnectionStart(conn) {
      const sink = createAppSink(conn, keys, () => null);
      sinks.set(conn.uid, { conn, sink });
      return sink;
    },
    onConnectionEnd(r) {
      const e = sinks.get(r.uid);
      sinks.delete(r.uid);
      const t = e?.sink.tls ?? null;
      if (e === undefined || t === null) return;
      tlsCount++;
      const status = statusOf(t);
      if (t.decrypted) decrypted++;
      if (status !== 'decrypted') reasons.set(status, (reasons.get(status) ?? 0) + 1);
      if (json) out.write(`${safeJson(tlsJson(e.conn, t))}\n`);
      else {
        header();
        out.write(`${formatRow(rowOf(e.conn, t), width)}\n`);
        if (t.problems.length > 0 && status !== 'decrypted') out.write(`${width === null ? `  ${escapeText(t.problems[0]!)}` : wrapHanging(`  ${escapeText(t.problems[0]!)}`, width, 4)}\n`);
      }
    },
    onWarning(w) {
      io.stderr.write(`mirrorlens tls: ${escapeText(w.file)} (byte offset ${w.byteOffset}): ${escapeText(w.message)}\n`);
    },
  });
  header();
  const why = [...reasons.entries()].map(([k, v]) => `${v} ${k}`).join(', ');
  const line =
    `${tlsCount} TLS connections, ${decrypted} decrypted${why ? ` (${why})` : ''}; ` +
    `${keys.size} client randoms with keys; ${summary.packets} packets, ${summary.flow.connections} TCP connections`;
  if (tty) out.write(`\n${wrapHanging(line, width, 2)}\n`);
  else io.stderr.write(`${line}\n`);
  return 0;
}

export const command: Command = {
  summary: 'list TLS connections and whether they decrypt with the key logs (--keylog, pcapng DSBs)',
  usage: USAGE,
  run,
};
