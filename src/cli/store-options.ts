/**
 * `--store URL`, `--node NAME`, `--spool DIR` for the commands that write records (listen, analyze,
 * logs), and the time window for those that read them (query, analyze --store). See docs/store.md.
 */
import { hostname } from 'node:os';
import { ALL_TIME, parseDuration, windowFromOptions, type TimeWindow } from '../capture/window.js';
import type { Recorder } from '../store/recorder.js';
import { describeStats } from '../store/sink.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { EXIT } from './exit.js';

export const STORE_OPTIONS = {
  store: { type: 'string' },
  node: { type: 'string' },
  spool: { type: 'string' },
} as const;

export const WINDOW_OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  around: { type: 'string' },
} as const;

export const STORE_USAGE = `  --store URL          also write the records (connections, transactions, TLS sessions, findings,
                       5xx/REJECT log lines) to a store: a directory (Parquet, read with DuckDB)
                       or clickhouse://[user[:password]@]host[:8123]/database (see docs/store.md)
  --node NAME          the name this host's records carry (default: the host name)
  --spool DIR          where records wait while a ClickHouse server is away
                       (default ~/.cache/mirrorlens/spool/HOST_PORT_DB)`;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function nodeName(cmd: string, values: Values): string {
  const n = (values.node as string | undefined) ?? hostname();
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(n)) throw new MirrorlensError(ErrorCode.Usage, `${cmd}: --node may hold letters, digits, '.', '_', ':' and '-' (at most 64), got '${n}'`);
  return n;
}

/**
 * A recorder for --store, or null without it. The store modules (DuckDB's and ClickHouse's
 * clients: about a fifth of a second of start-up) are loaded only then.
 */
export async function recorderFrom(cmd: string, values: Values, say: (l: string) => void, flushMs?: number): Promise<Recorder | null> {
  const url = values.store as string | undefined;
  if (url === undefined) return null;
  if (url === '') throw new MirrorlensError(ErrorCode.Usage, `${cmd}: --store wants a directory or clickhouse://host:port/database`);
  const node = nodeName(cmd, values);
  const [{ isServerUrl, openSink }, { redact }, { Recorder }] = await Promise.all([import('../store/open.js'), import('../store/clickhouse.js'), import('../store/recorder.js')]);
  const sink = openSink(url, { node, spoolDir: values.spool as string | undefined, flushMs, onNotice: (l) => say(`${cmd}: ${l}`) });
  say(`${cmd}: recording to ${isServerUrl(url) ? redact(sink.where) : sink.where} as node ${node}`);
  return new Recorder(sink, node);
}

/** Flushes and closes; one line on stderr; exit code 5 (an output that could not be written) when records were lost or refused. */
export async function closeRecorder(cmd: string, rec: Recorder | null, io: { stderr: NodeJS.WritableStream }, waitMs?: number): Promise<number> {
  if (!rec) return 0;
  const s = await rec.close(waitMs);
  io.stderr.write(`${cmd}: ${describeStats(rec.sink.where, s)}\n`);
  return s.dropped > 0 || s.rejected > 0 ? EXIT.output : EXIT.ok;
}

/** `2h` (a bare duration, as kubectl and the questions users ask write it) means `now-2h`; anything else is a time. */
function relative(v: string | undefined): string | undefined {
  if (v === undefined || !/^\d+(\.\d+)?(ms|s|m|h|d)(\d+(ms|s|m|h|d))*$/.test(v.trim())) return v;
  parseDuration(v.trim());
  return `now-${v.trim()}`;
}

/** The --since/--until/--around window, or all time. */
export function windowFrom(cmd: string, values: Values, fallback: TimeWindow = ALL_TIME): TimeWindow {
  try {
    return windowFromOptions({ since: relative(values.since as string | undefined), until: relative(values.until as string | undefined), around: values.around as string | undefined }) ?? fallback;
  } catch (e) {
    throw new MirrorlensError(ErrorCode.Usage, `${cmd}: ${(e as Error).message}`);
  }
}
