/**
 * `mirrorlens query findings|transactions|conns|tls|logs|sql`: the questions users ask of a store
 * (docs/store.md), over either store, as a table, --json lines or --csv.
 */
import type { CliIO, Command } from './command.js';
import { numberOption, parseCommandArgs } from './command.js';
import type { StoreReader } from '../store/open.js';
import type { Row } from '../store/schema.js';
import { escapeText, safeJson } from '../report/escape.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { WINDOW_OPTIONS, windowFrom } from './store-options.js';
import { isoMs } from '../capture/time-text.js';

const USAGE = `Usage: mirrorlens query WHAT --store URL [options]

Asks a store that listen/analyze/logs --store wrote (a directory, or clickhouse://host:8123/db;
default: $MIRRORLENS_STORE). WHAT is one of:
  findings       explained errors (kind, status, request, client, idle time, summary)
  transactions   HTTP requests  (--status 5xx|502|4xx, --path PREFIX, --method M, --host H,
                 --outcome O, --min-duration S)
  conns          TCP connections (--min-idle S, --state S, --host A, --port P, --reset)
  tls            TLS sessions
  logs           access-log lines that need explaining (5xx, 460, 000)
  sql "SELECT ..."  any query over the tables conns, marks, transactions, tls, findings,
                 lb_log, lb_targets, flow_log, flow_pairs, captures (docs/store.md)

Options:
  --store URL        the store
  --since T, --until T, --around T[±D]   time window: ISO 8601, epoch seconds, now-2h, or 2h
                     (= 2 hours ago)
  --node NAME        only this node's records
  --limit N          at most N rows (default 1000; 0 = all)
  --json             one JSON object a line
  --csv              CSV with a header line
  --kind K           findings of this kind

Examples:
  mirrorlens query findings --store clickhouse://ch:8123/mirrorlens --since 24h
  mirrorlens query transactions --store cap/records --status 5xx --path /api --since 2h
  mirrorlens query conns --store cap/records --min-idle 300
  mirrorlens query sql --store cap/records "SELECT kind, count(*) AS n FROM findings GROUP BY kind"
`;

const WHAT = ['findings', 'transactions', 'conns', 'tls', 'logs', 'sql'] as const;
type What = (typeof WHAT)[number];

interface Shape {
  table: string;
  columns: string[];
  order: string;
}

const SHAPES: Record<Exclude<What, 'sql'>, Shape> = {
  findings: { table: 'findings', columns: ['ts', 'node', 'kind', 'severity', 'status', 'method', 'path', 'client', 'idle', 'target_conn_uid', 'summary', 'id'], order: 'ts' },
  transactions: {
    table: 'transactions',
    columns: ['ts', 'node', 'uid', 'orig_h', 'orig_p', 'resp_h', 'resp_p', 'method', 'host', 'path', 'status', 'outcome', 'ended_by', 'duration', 'idle_before', 'request_index', 'trace_id'],
    order: 'ts',
  },
  conns: { table: 'conns', columns: ['ts', 'node', 'uid', 'capture_point', 'orig_h', 'orig_p', 'resp_h', 'resp_p', 'conn_state', 'history', 'duration', 'max_idle', 'closed_by', 'close_how', 'orig_bytes', 'resp_bytes', 'file'], order: 'ts' },
  tls: { table: 'tls', columns: ['ts', 'node', 'uid', 'version', 'cipher', 'server_name', 'alpn', 'resumed', 'established', 'decrypted', 'not_decrypted_reason', 'alert'], order: 'ts' },
  logs: { table: 'lb_log', columns: ['ts', 'node', 'kind', 'elb_status', 'target_status', 'client_h', 'client_p', 'target_h', 'target_p', 'method', 'path', 'error_reason', 'trace_id', 'file', 'line'], order: 'ts' },
};

function iso(t: number): string {
  return isoMs(t * 1000)?.replace(/(\.\d{3})Z$/, '$1Z') ?? String(t);
}

function cell(k: string, v: Row[string]): string {
  if (v === null || v === undefined) return '-';
  if (k === 'ts' && typeof v === 'number') return iso(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6);
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

function csvCell(v: Row[string]): string {
  if (v === null || v === undefined) return '';
  const s = Array.isArray(v) ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function renderRows(rows: Row[], format: 'table' | 'json' | 'csv', columns?: string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (format === 'json') return rows.map((r) => safeJson(r)).join('\n') + (rows.length ? '\n' : '');
  if (format === 'csv') return [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c] ?? null)).join(','))].join('\n') + '\n';
  if (rows.length === 0) return '(no rows)\n';
  const cells = rows.map((r) => cols.map((c) => escapeText(cell(c, r[c] ?? null))));
  const width = cols.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => r[i]!.length))));
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const lines = [cols.map((c, i) => fit(c, width[i]!)).join('  ').trimEnd(), ...cells.map((r) => r.map((s, i) => (i === r.length - 1 ? s : fit(s, width[i]!))).join('  ').trimEnd())];
  return lines.join('\n') + '\n';
}

function statusClause(v: string): string {
  const m = /^([1-5])xx$/i.exec(v);
  if (m) return `status >= ${Number(m[1]) * 100} AND status < ${Number(m[1]) * 100 + 100}`;
  if (/^\d{3}$/.test(v)) return `status = ${Number(v)}`;
  throw new MirrorlensError(ErrorCode.Usage, `query: --status wants 5xx, 4xx, ... or a code like 502, got '${v}'`);
}

/** LIKE pattern for a prefix, with LIKE's own wildcards taken literally. */
function prefixPattern(s: string): string {
  return `${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function buildQuery(what: Exclude<What, 'sql'>, r: StoreReader, v: Record<string, unknown>, window: { since: number; until: number }, limit: number): string {
  const shape = SHAPES[what];
  const where: string[] = [];
  if (Number.isFinite(window.since)) where.push(`ts >= ${window.since}`);
  if (Number.isFinite(window.until)) where.push(`ts <= ${window.until}`);
  const str = (k: string) => v[k] as string | undefined;
  if (str('node')) where.push(`node = ${r.literal(str('node')!)}`);
  if (what === 'findings' && str('kind')) where.push(`kind = ${r.literal(str('kind')!)}`);
  if (what === 'transactions') {
    if (str('status')) where.push(statusClause(str('status')!));
    if (str('path')) where.push(`path LIKE ${r.literal(prefixPattern(str('path')!))}${r.kind === 'parquet' ? " ESCAPE '\\'" : ''}`);
    if (str('method')) where.push(`method = ${r.literal(str('method')!.toUpperCase())}`);
    if (str('host')) where.push(`host = ${r.literal(str('host')!)}`);
    if (str('outcome')) where.push(`outcome = ${r.literal(str('outcome')!)}`);
    if (str('min-duration')) where.push(`duration >= ${numberOption('query', 'min-duration', str('min-duration'), 0)}`);
  }
  if (what === 'conns') {
    if (str('min-idle')) where.push(`max_idle >= ${numberOption('query', 'min-idle', str('min-idle'), 0)}`);
    if (str('state')) where.push(`conn_state = ${r.literal(str('state')!)}`);
    if (str('host')) where.push(`(orig_h = ${r.literal(str('host')!)} OR resp_h = ${r.literal(str('host')!)})`);
    if (str('port')) {
      const p = numberOption('query', 'port', str('port'), 0);
      where.push(`(orig_p = ${p} OR resp_p = ${p})`);
    }
    if (v.reset === true) where.push(`close_how = 'rst'`);
  }
  // A finding recorded twice (live, then a later analyze of the same packets) has one id.
  const once = r.kind === 'clickhouse' ? 'ORDER BY ts LIMIT 1 BY id' : 'QUALIFY row_number() OVER (PARTITION BY id ORDER BY ts) = 1';
  const from = what === 'findings' ? `(SELECT * FROM findings WHERE ${where.join(' AND ') || '1 = 1'} ${once})` : shape.table;
  const cond = what === 'findings' ? '' : where.length ? ` WHERE ${where.join(' AND ')}` : '';
  return `SELECT ${shape.columns.join(', ')} FROM ${from}${cond} ORDER BY ${shape.order}${limit > 0 ? ` LIMIT ${limit}` : ''}`;
}

export const command: Command = {
  summary: 'ask a store: findings, transactions, conns, tls, logs, or any SQL; table, --json or --csv',
  usage: USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs('query', argv, {
      store: { type: 'string' },
      node: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
      kind: { type: 'string' },
      status: { type: 'string' },
      path: { type: 'string' },
      method: { type: 'string' },
      host: { type: 'string' },
      outcome: { type: 'string' },
      'min-duration': { type: 'string' },
      'min-idle': { type: 'string' },
      state: { type: 'string' },
      port: { type: 'string' },
      reset: { type: 'boolean' },
      ...WINDOW_OPTIONS,
    });
    const what = positionals[0] as What | undefined;
    if (!what || !WHAT.includes(what)) throw new MirrorlensError(ErrorCode.Usage, `query: say what to ask: ${WHAT.join(', ')} (see 'mirrorlens query --help')`);
    const url = (values.store as string | undefined) ?? io.env.MIRRORLENS_STORE;
    if (!url) throw new MirrorlensError(ErrorCode.Usage, "query: --store URL is required (a directory or clickhouse://host:8123/db; or set MIRRORLENS_STORE)");
    if (values.json && values.csv) throw new MirrorlensError(ErrorCode.Usage, 'query: choose one of --json and --csv');
    const format = values.json ? 'json' : values.csv ? 'csv' : 'table';
    const limit = numberOption('query', 'limit', values.limit as string | undefined, 1000);
    const window = windowFrom('query', values);
    const { openReader } = await import('../store/open.js');
    const reader = await openReader(url);
    try {
      let sql: string;
      let columns: string[] | undefined;
      if (what === 'sql') {
        sql = positionals.slice(1).join(' ').trim();
        if (!sql) throw new MirrorlensError(ErrorCode.Usage, 'query sql: give the query, e.g. "SELECT kind, count(*) AS n FROM findings GROUP BY kind"');
      } else {
        if (positionals.length > 1) throw new MirrorlensError(ErrorCode.Usage, `query: unexpected argument '${positionals[1]}'`);
        sql = buildQuery(what, reader, values, window, limit);
        columns = SHAPES[what].columns;
      }
      const rows = await reader.query(sql);
      io.stdout.write(renderRows(rows, format, columns));
      return 0;
    } finally {
      await reader.close();
    }
  },
};
