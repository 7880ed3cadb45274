/**
 * The HTTP transaction record: one per request/response exchange (one per stream for HTTP/2).
 * Plain JSON-ready data; times are seconds since the Unix epoch (float), null when not seen.
 */
import type { ConnInfo, EndReason } from '../flow/stream.js';

export type HttpOutcome = 'complete' | 'no-response' | 'incomplete' | 'malformed';
export type HttpEndedBy = 'rst' | 'fin' | 'rst-stream' | 'goaway' | 'capture-end';

/** The fields a load-balancer investigation looks at; other fields are not kept. */
export const SELECTED_HEADERS = [
  'host',
  'user-agent',
  'x-amzn-trace-id',
  'x-forwarded-for',
  'content-type',
  'content-length',
  'connection',
  'keep-alive',
] as const;
export type SelectedHeaderName = (typeof SELECTED_HEADERS)[number];
export type SelectedHeaders = Partial<Record<SelectedHeaderName, string>>;

export interface HttpTransaction {
  /** `${connUid}-${requestIndexOnConnection}`. */
  uid: string;
  connUid: string;
  /** '1.0', '1.1' or '2'. */
  httpVersion: string;
  /** HTTP/2 stream id; null for HTTP/1. */
  streamId: number | null;
  method: string | null;
  /** 'http' / 'https' (from TLS for HTTP/1, from :scheme for HTTP/2). */
  scheme: string | null;
  /** :authority for HTTP/2, else the Host field. */
  authority: string | null;
  /** Request target as sent (HTTP/1) or :path. */
  path: string | null;
  /** Final status; null when none was seen. */
  status: number | null;
  /** 1xx statuses seen before the final one (100, 103, 101 for h2c upgrades). */
  interimStatuses: number[];
  requestHeaders: SelectedHeaders;
  responseHeaders: SelectedHeaders;
  /** Body bytes (after chunk decoding / of DATA frames), including bytes lost in capture gaps. */
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** HTTP/1 response head size in bytes (status line to the empty line); null when not seen (and for HTTP/2). */
  responseHeadBytes: number | null;
  /** The response's declared Content-Length (null: none, or chunked / close-delimited). */
  responseContentLength: number | null;
  requestFirstByteTime: number | null;
  requestLastByteTime: number | null;
  responseFirstByteTime: number | null;
  responseLastByteTime: number | null;
  /** responseLastByteTime - requestFirstByteTime when both are known. */
  durationSeconds: number | null;
  /** 1 for the first request on the connection, 2 for the first reuse, ... */
  requestIndexOnConnection: number;
  /** Time the connection was idle (no packet either way) just before the request's first byte. */
  idleBeforeRequestSeconds: number | null;
  outcome: HttpOutcome;
  /** What ended a transaction that did not complete (no-response / incomplete). */
  endedBy: HttpEndedBy | null;
  /** Which side's packet ended it ('client' / 'server'), when known. */
  endedByDirection: 'client' | 'server' | null;
  /** HTTP/2 RST_STREAM / GOAWAY error code name (NO_ERROR, REFUSED_STREAM, ...). */
  errorCode: string | null;
  /** HTTP/2: the GOAWAY that ended this stream unprocessed (its time and last-stream-id); null otherwise. */
  goaway: { time: number; lastStreamId: number } | null;
  /** The parser's reason when outcome is 'malformed'. */
  malformedReason: string | null;
  /** HTTP/2 header blocks that could not be fully decoded (capture began mid-connection). */
  headersIncomplete: boolean;
  /** Protocol the connection switched to after this exchange ('websocket', 'h2c', 'CONNECT' tunnel). */
  upgrade: string | null;
  /** Named anomalies (leniencies, resyncs, gaps), de-duplicated, in order of first occurrence. */
  anomalies: string[];
  client: string;
  server: string;
}

const MAX_VALUE = 256;

/** Caps a captured value: 256 UTF-16 units, then an ellipsis. */
export function capValue(v: string): string {
  return v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE)}…` : v;
}

const MAX_PATH = 4096;

/** Caps a request target / :path: 4096 UTF-16 units, then an ellipsis. */
export function capPath(v: string): string {
  return v.length > MAX_PATH ? `${v.slice(0, MAX_PATH)}…` : v;
}

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** A connection's client and server as transactions print them ("addr:port", "[v6]:port"). */
export interface TxEndpoints {
  client: string;
  server: string;
}

export function txEndpoints(conn: ConnInfo): TxEndpoints {
  return { client: endpoint(conn.clientAddr, conn.clientPort), server: endpoint(conn.serverAddr, conn.serverPort) };
}

/** A new record; pass `ends` (from txEndpoints) to share the endpoint strings of a connection's transactions. */
export function newTransaction(conn: ConnInfo, index: number, httpVersion: string, scheme: string | null, ends: TxEndpoints = txEndpoints(conn)): HttpTransaction {
  return {
    uid: `${conn.uid}-${index}`,
    connUid: conn.uid,
    httpVersion,
    streamId: null,
    method: null,
    scheme,
    authority: null,
    path: null,
    status: null,
    interimStatuses: [],
    requestHeaders: {},
    responseHeaders: {},
    requestBodyBytes: 0,
    responseBodyBytes: 0,
    responseHeadBytes: null,
    responseContentLength: null,
    requestFirstByteTime: null,
    requestLastByteTime: null,
    responseFirstByteTime: null,
    responseLastByteTime: null,
    durationSeconds: null,
    requestIndexOnConnection: index,
    idleBeforeRequestSeconds: null,
    outcome: 'complete',
    endedBy: null,
    endedByDirection: null,
    errorCode: null,
    goaway: null,
    malformedReason: null,
    headersIncomplete: false,
    upgrade: null,
    anomalies: [],
    client: ends.client,
    server: ends.server,
  };
}

/** SELECTED_HEADERS by name length: a parser compares a field's name only with these candidates. */
const SELECTED_BY_LENGTH: SelectedHeaderName[][] = [];
for (const n of SELECTED_HEADERS) (SELECTED_BY_LENGTH[n.length] ??= []).push(n);

/** The selected header names (lower case) that are `length` characters long. */
export function selectedHeadersOfLength(length: number): readonly SelectedHeaderName[] | undefined {
  return SELECTED_BY_LENGTH[length];
}

/** Adds one field to a selected-headers record if it is one of SELECTED_HEADERS (first wins, later appended with ", "). */
export function selectHeader(into: SelectedHeaders, name: string, value: string): void {
  const n = name.toLowerCase() as SelectedHeaderName;
  if (!(SELECTED_HEADERS as readonly string[]).includes(n)) return;
  addSelectedHeader(into, n, value);
}

/** Adds the value of a field known to be `name`, one of SELECTED_HEADERS (a repeated field is appended with ", "). */
export function addSelectedHeader(into: SelectedHeaders, name: SelectedHeaderName, value: string): void {
  const prev = into[name];
  into[name] = capValue(prev === undefined ? value : `${prev}, ${value}`);
}

export function addAnomaly(tx: HttpTransaction, code: string): void {
  if (!tx.anomalies.includes(code)) tx.anomalies.push(code);
}

/** Idle time before a request whose first byte arrived at `time`; 0 when it shares a chunk with earlier bytes. */
export function idleBefore(conn: ConnInfo, time: number, firstInChunk: boolean, prevPacketTime?: number): number | null {
  if (!firstInChunk) return 0;
  const prev = prevPacketTime ?? conn.previousPacketTime;
  if (!Number.isFinite(prev)) return null;
  return Math.max(0, round6(time - prev));
}

export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Sets durationSeconds; call before emitting. */
export function finishTimes(tx: HttpTransaction): void {
  if (tx.requestFirstByteTime !== null && tx.responseLastByteTime !== null) {
    tx.durationSeconds = round6(tx.responseLastByteTime - tx.requestFirstByteTime);
  }
}

export function endedByOf(reason: EndReason): HttpEndedBy {
  return reason === 'rst' ? 'rst' : reason === 'fin' ? 'fin' : 'capture-end';
}
