/**
 * `mirrorlens http CAPTURE... [--keylog FILE]...`: HTTP/1.1 and HTTP/2 transactions with timings
 * and outcome, as a table or JSON lines, with filters.
 */
import type { CliIO, Command } from './command.js';
import { numberOption, parseCommandArgs } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { processCaptures } from '../flow/pipeline.js';
import type { ConnInfo, StreamSink } from '../flow/stream.js';
import { createHttpSink } from '../http/session.js';
import type { HttpTransaction } from '../http/transaction.js';
import { escapeText, safeJson } from '../report/escape.js';
import { KeyLog, formatKeyLogIssue } from '../tls/keylog.js';
import { loadKeyLogFile } from '../tls/keylog-file.js';
import { INCIDENT_HELP, INCIDENT_OPTIONS, captureArgs, incidentOption } from './command.js';
import { formatTable, wrapWidth } from './terminal.js';
import { expandCaptureInputs } from '../capture/inputs.js';
import { packetWindow, transactionSelected } from '../analyze/incident.js';
import { createAppSink } from '../tls/sniff.js';
import { isoMs } from '../capture/time-text.js';

const USAGE = `Usage: mirrorlens http CAPTURE... [options]

Lists HTTP/1.x and HTTP/2 transactions (one per request/response; one per
stream for HTTP/2) with request/response timings, the request's index on its
connection (reuse), the idle time of the connection before the request, the
outcome (complete, no-response and what ended it, incomplete, malformed) and
the capture point (mirror session). CAPTURE may be a directory (listen --out)
or a quoted glob; -r FILE names one too.

Options:
  -k, --keylog FILE      TLS key log (SSLKEYLOGFILE); repeatable. Keys embedded
                         in pcapng (Decryption Secrets Blocks) are used too.
  -j, --json             one JSON object per line instead of a table
      --status S         only these statuses: 502, 5xx, 4xx, none (no
                         response); comma-separated
      --method M         only this method (case-insensitive); comma-separated
      --host H           only this host / :authority (case-insensitive, port
                         ignored; *.example.com)
      --path SUBSTR      only paths containing SUBSTR
      --min-duration SEC only transactions lasting at least SEC seconds
                         (request first byte to response last byte)
      --outcome O        only complete | no-response | incomplete | malformed;
                         comma-separated
  -h, --help             this help

${INCIDENT_HELP}
  (a transaction is in the window by its request's first byte; --client also
  matches the first X-Forwarded-For address on the target side)

The table is in request order, cut to the terminal's width on a terminal and
whole in a pipe; --json lines come as transactions finish (streaming).

Examples:
  mirrorlens http capture.pcapng -k sslkeys.log --status 5xx
  mirrorlens http 'mirror-*.pcapng' --json --host api.example.com
  mirrorlens http captures/ --around 2024-05-01T12:03:17Z±2m --status 502
`;

interface Filters {
  status: Array<(s: number | null) => boolean>;
  methods: string[];
  hosts: string[];
  path: string | null;
  minDuration: number;
  outcomes: string[];
}

function parseStatusFilter(v: string): Array<(s: number | null) => boolean> {
  return v.split(',').map((raw) => {
    const t = raw.trim().toLowerCase();
    if (t === 'none' || t === '-') return (s: number | null) => s === null;
    if (/^[1-5]xx$/.test(t)) {
      const c = Number(t[0]);
      return (s: number | null) => s !== null && Math.floor(s / 100) === c;
    }
    if (/^\d{3}$/.test(t)) {
      const n = Number(t);
      return (s: number | null) => s === n;
    }
    throw new MirrorlensError(ErrorCode.Usage, `--status wants a status (502), a class (1xx to 5xx) or none, comma-separated; got '${raw}'`);
  });
}

function hostOf(tx: HttpTransaction): string {
  const a = (tx.authority ?? '').toLowerCase();
  if (a.startsWith('[')) return a.slice(0, a.indexOf(']') + 1);
  const i = a.lastIndexOf(':');
  return i >= 0 && /^\d+$/.test(a.slice(i + 1)) ? a.slice(0, i) : a;
}

function matches(tx: HttpTransaction, f: Filters): boolean {
  if (f.status.length > 0 && !f.status.some((p) => p(tx.status))) return false;
  if (f.methods.length > 0 && !f.methods.includes((tx.method ?? '').toUpperCase())) return false;
  if (f.hosts.length > 0) {
    const h = hostOf(tx);
    const ok = f.hosts.some((want) => (want.startsWith('*.') ? h.endsWith(want.slice(1)) : h === want));
    if (!ok) return false;
  }
  if (f.path !== null && !(tx.path ?? '').includes(f.path)) return false;
  if (f.minDuration > 0 && (tx.durationSeconds === null || tx.durationSeconds < f.minDuration)) return false;
  if (f.outcomes.length > 0 && !f.outcomes.includes(tx.outcome)) return false;
  return true;
}


function iso(t: number | null): string {
  if (t === null) return '-';
  return isoMs(Math.round(t * 1000))?.replace('T', ' ').replace('Z', '') ?? String(t);
}

function secs(x: number | null): string {
  if (x === null) return '-';
  if (x < 1) return `${(x * 1000).toFixed(1)}ms`;
  return `${x.toFixed(3)}s`;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

const HEADER = ['time', 'uid', 'ver', 'method', 'host', 'path', 'status', 'outcome', 'duration', 'idle-before', 'req#', 'point'];
/** Columns cut first on a narrow terminal: host, path, outcome, uid. */
const SHRINK = [4, 5, 7, 1];
/** Columns left out, in this order, on a terminal too narrow for the rest: point, req#, idle-before, ver, uid. */
const DROP = [11, 10, 9, 2, 1];

export function tableRow(tx: HttpTransaction, point = ''): string[] {
  let outcome: string = tx.outcome;
  if (tx.endedBy) outcome += ` (${tx.endedBy}${tx.endedByDirection ? ` by ${tx.endedByDirection}` : ''}${tx.errorCode ? ` ${tx.errorCode}` : ''})`;
  if (tx.malformedReason) outcome += ` (${tx.malformedReason})`;
  if (tx.headersIncomplete) outcome += ' [headers incomplete]';
  const status = tx.status === null ? '-' : String(tx.status) + (tx.interimStatuses.length ? ` (${tx.interimStatuses.join(',')})` : '');
  return [
    iso(tx.requestFirstByteTime ?? tx.responseFirstByteTime),
    tx.uid,
    tx.httpVersion + (tx.streamId !== null ? `#${tx.streamId}` : ''),
    tx.method ?? '-',
    clip(tx.authority ?? '-', 40),
    clip(tx.path ?? '-', 60),
    status,
    outcome,
    secs(tx.durationSeconds),
    secs(tx.idleBeforeRequestSeconds),
    String(tx.requestIndexOnConnection),
    point || '-',
  ].map(escapeText);
}

interface TlsGlue {
  sink(conn: ConnInfo, next: (conn: ConnInfo, info: { alpn: string | null; tls: boolean }) => StreamSink | null): StreamSink | null;
  onSecrets: (type: number, data: Uint8Array) => void;
  note(): string;
}

/**
 * Connects the TLS stage: every connection goes through createAppSink, which decrypts TLS with
 * the key logs (files given, and Decryption Secrets Blocks met in pcapng files) and passes
 * anything else through; the HTTP sink is chosen once the ALPN is known.
 */
async function attachTls(keylogs: string[]): Promise<TlsGlue> {
  const keys = new KeyLog();
  const issues: string[] = [];
  for (const file of keylogs) {
    for (const i of (await loadKeyLogFile(file, keys, 'latin1')).issues) issues.push(formatKeyLogIssue(i));
  }
  let tlsConns = 0;
  return {
    sink(conn, next) {
      const app = createAppSink(conn, keys, (c, info) => {
        if (info.tls !== null) tlsConns++;
        return next(c, { alpn: info.alpn, tls: info.tls !== null });
      });
      return app;
    },
    onSecrets(type, data) {
      for (const i of keys.addDsb(type, data)) issues.push(formatKeyLogIssue(i));
    },
    note() {
      const parts: string[] = [];
      if (tlsConns > 0) parts.push(`${tlsConns} TLS connection${tlsConns === 1 ? '' : 's'}`);
      if (issues.length > 0) parts.push(`${issues.length} key log line${issues.length === 1 ? '' : 's'} skipped (first: ${escapeText(issues[0]!)})`);
      return parts.length > 0 ? `; ${parts.join('; ')}` : '';
    },
  };
}

export const command: Command = {
  summary: 'list HTTP/1.1 and HTTP/2 transactions with timings and outcome',
  usage: USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values, positionals: args } = parseCommandArgs('http', argv, {
      read: { type: 'string', multiple: true },
      ...INCIDENT_OPTIONS,
      keylog: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      status: { type: 'string' },
      method: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      'min-duration': { type: 'string' },
      outcome: { type: 'string' },
    });
    const named = captureArgs(values, args);
    if (named.length === 0) throw new MirrorlensError(ErrorCode.Usage, "give at least one capture file (see 'mirrorlens http --help')");
    const incident = incidentOption('http', values);
    const filters: Filters = {
      status: typeof values.status === 'string' ? parseStatusFilter(values.status) : [],
      methods: typeof values.method === 'string' ? values.method.split(',').map((m) => m.trim().toUpperCase()) : [],
      hosts: typeof values.host === 'string' ? values.host.split(',').map((h) => h.trim().toLowerCase()) : [],
      path: typeof values.path === 'string' ? values.path : null,
      minDuration: numberOption('http', 'min-duration', values['min-duration'] as string | undefined, 0),
      outcomes: typeof values.outcome === 'string' ? values.outcome.split(',').map((o) => o.trim()) : [],
    };
    for (const o of filters.outcomes) {
      if (!['complete', 'no-response', 'incomplete', 'malformed'].includes(o)) {
        throw new MirrorlensError(ErrorCode.Usage, `--outcome wants complete, no-response, incomplete or malformed, got '${o}'`);
      }
    }
    const json = values.json === true;
    const keylogs = (values.keylog as string[] | undefined) ?? [];

    const rows: Array<{ t: number; row: string[] }> = [];
    let count = 0;
    const onTx = (conn: ConnInfo, tx: HttpTransaction): void => {
      if (!matches(tx, filters)) return;
      if (incident !== null && !transactionSelected(incident, conn, tx)) return;
      count++;
      if (json) io.stdout.write(`${safeJson(tx)}\n`);
      else rows.push({ t: tx.requestFirstByteTime ?? tx.responseFirstByteTime ?? Infinity, row: tableRow(tx, conn.capturePoint) });
    };
    const tls = await attachTls(keylogs);
    const positionals = await expandCaptureInputs(named);
    const summary = await processCaptures(
      positionals,
      {
        onConnectionStart(conn: ConnInfo): StreamSink | null {
          return tls.sink(conn, (c, info) => createHttpSink(c, info, (tx) => onTx(c, tx)));
        },
        onSecrets: tls.onSecrets,
      },
      { window: packetWindow(incident) },
    );
    if (!json) {
      // The table is buffered for its column widths anyway: show it in request order.
      rows.sort((a, b) => a.t - b.t);
      for (const line of formatTable([HEADER, ...rows.map((r) => r.row)], wrapWidth(io), SHRINK, DROP)) io.stdout.write(`${line}\n`);
      io.stderr.write(`${count} transaction${count === 1 ? '' : 's'} (${summary.packets} packets, ${summary.flow.connections} TCP connections)${tls.note()}\n`);
    }
    return 0;
  },
};
