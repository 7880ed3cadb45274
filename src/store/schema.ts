/**
 * The record schema of the store (docs/store.md), version 2: one table per record kind, every row
 * with `ts` (seconds since the Unix epoch, float: the time windows are asked on it), the `node`
 * that recorded it, and the connection `uid` it belongs to. Column names follow Zeek's logs where
 * Zeek has the field (conn.log: `orig_h`, `resp_p`, `conn_state`, `history`, `missed_bytes`, ...).
 *
 * The same definition makes the DuckDB/Parquet tables and the ClickHouse tables. Types are kept to
 * what ClickHouse 18.16 (Debian's) has: no DateTime64 (times are Float64), no LowCardinality, no
 * JSON type; `bool` is UInt8 there.
 */

/**
 * Bumped on any change a reader must know about; stored with the records (docs/store.md).
 * 2: transactions gained resp_head_bytes, resp_content_length, goaway_ts, goaway_last_stream
 * (nullable: rows written by version 1 read them as NULL, which is what v1 replayed).
 */
export const STORE_SCHEMA_VERSION = 2;

/** Columns added after version 1, by table: a store written before lacks them (readers give NULL, ClickHouse tables gain them). */
export const ADDED_COLUMNS: Partial<Record<string, Record<string, number>>> = {
  transactions: { resp_head_bytes: 2, resp_content_length: 2, goaway_ts: 2, goaway_last_stream: 2 },
};

export type ColumnType = 'f64' | 'i64' | 'i32' | 'str' | 'bool' | 'f64[]' | 'str[]';

export interface Column {
  name: string;
  type: ColumnType;
  /** May be null (arrays never are: empty instead). */
  nullable?: boolean;
  doc: string;
}

export interface TableDef {
  name: TableName;
  doc: string;
  columns: readonly Column[];
}

const c = (name: string, type: ColumnType, doc: string, nullable = false): Column => ({ name, type, doc, nullable });

const COMMON = [c('ts', 'f64', 'the record\'s time (see the table), seconds since the Unix epoch'), c('node', 'str', 'the listener or host that recorded it (--node, default the host name)')];

const ENDPOINTS = [
  c('orig_h', 'str', 'client address (Zeek id.orig_h)'),
  c('orig_p', 'i32', 'client port'),
  c('resp_h', 'str', 'server address (Zeek id.resp_h)'),
  c('resp_p', 'i32', 'server port'),
];

const CAPTURE_REF = [
  c('file', 'str', 'capture file holding the first packet (as the recording process named it)'),
  c('file_offset', 'i64', 'byte offset of that packet\'s block in the file (-1: not known)'),
  c('last_file', 'str', 'capture file holding the last packet'),
  c('last_file_offset', 'i64', 'byte offset of the last packet\'s block (-1: not known)'),
];

export const TABLES = {
  conns: {
    name: 'conns',
    doc: 'one row per TCP connection seen at a capture point (Zeek conn.log); ts = first packet',
    columns: [
      ...COMMON,
      c('uid', 'str', 'connection uid'),
      c('community_id', 'str', 'Community ID flow hash (1:...)'),
      c('capture_point', 'str', 'first capture point (mirror session / pcapng interface) it was seen at'),
      c('capture_points', 'str[]', 'every capture point it was seen at'),
      c('proto', 'str', "'tcp'"),
      ...ENDPOINTS,
      c('end_ts', 'f64', 'last packet'),
      c('duration', 'f64', 'seconds'),
      c('conn_state', 'str', 'Zeek conn_state (S0, SF, REJ, RSTO, RSTR, ...)'),
      c('history', 'str', 'Zeek history (ShADadFf...)'),
      c('orig_pkts', 'i64', 'packets from the client'),
      c('resp_pkts', 'i64', 'packets from the server'),
      c('orig_ip_bytes', 'i64', 'IP bytes from the client'),
      c('resp_ip_bytes', 'i64', 'IP bytes from the server'),
      c('orig_bytes', 'i64', 'client stream length (Zeek orig_bytes)'),
      c('resp_bytes', 'i64', 'server stream length'),
      c('orig_payload_bytes', 'i64', 'TCP payload bytes from the client, retransmissions included'),
      c('resp_payload_bytes', 'i64', 'TCP payload bytes from the server'),
      c('missed_bytes', 'i64', 'bytes the capture never delivered, both directions (Zeek missed_bytes)'),
      c('rtt', 'f64', 'handshake round trip seen at the capture point, seconds', true),
      c('syn_ts', 'f64[]', 'times of the client\'s SYNs (retries included)'),
      c('synack_ts', 'f64', 'time of the SYN-ACK', true),
      c('refused', 'bool', 'the SYN was answered by a RST'),
      c('midstream', 'bool', 'picked up mid-stream (no handshake seen)'),
      c('closed_by', 'str', "'client' | 'server'", true),
      c('close_how', 'str', "'fin' | 'rst'", true),
      c('end_cause', 'str', 'closed | timeout | capture-end | evicted | port-reuse'),
      c('max_idle', 'f64', 'longest silence (no packet either way), seconds'),
      c('idle_gap_start', 'f64[]', 'silences longer than the threshold: starts (first 100)'),
      c('idle_gap_end', 'f64[]', 'and ends'),
      c('resp_fin_ts', 'f64[]', 'FINs sent by the server'),
      c('resp_rst_ts', 'f64[]', 'RSTs sent by the server'),
      c('requests', 'i32', 'HTTP requests seen on it'),
      c('tls_alert', 'str', 'fatal TLS alert of a failed handshake', true),
      c('tls_alert_from', 'str', "who sent it: 'client' | 'server'", true),
      c('icmp_error_ts', 'f64', 'an ICMP error quoting this connection (a SYN answered by destination unreachable): its time', true),
      c('icmp_error_from', 'str', 'who sent it', true),
      c('icmp_error_type', 'i32', 'ICMP type', true),
      c('icmp_error_code', 'i32', 'ICMP code', true),
      c('isn_orig', 'i64', 'sequence number of the client\'s SYN (joins the legs of one connection through NAT)', true),
      c('isn_resp', 'i64', 'sequence number of the server\'s SYN-ACK', true),
      c('orig_first_seq', 'i64', 'first client payload segment as captured: raw seq (joins mid-stream pickups)', true),
      c('orig_first_ack', 'i64', 'its raw ack', true),
      c('orig_first_len', 'i32', 'its length', true),
      c('orig_first_fp', 'i64', '32-bit hash of (seq, ack, length, first 64 bytes)', true),
      c('orig_first_ts', 'f64', 'its time', true),
      c('resp_first_seq', 'i64', 'the same for the server\'s first payload segment', true),
      c('resp_first_ack', 'i64', '', true),
      c('resp_first_len', 'i32', '', true),
      c('resp_first_fp', 'i64', '', true),
      c('resp_first_ts', 'f64', '', true),
      c('previous_uid', 'str', 'connection it replaced on the same 5-tuple', true),
      ...CAPTURE_REF,
    ],
  },
  marks: {
    name: 'marks',
    doc: 'key TCP packets (handshake, FIN, RST, keep-alive, first data after idle) of connections that may need explaining; ts = the packet',
    columns: [
      ...COMMON,
      c('uid', 'str', 'connection uid'),
      c('from_client', 'bool', 'sent by the connection\'s client'),
      c('kind', 'str', 'syn | synack | fin | rst | data | keep-alive'),
      c('length', 'i32', 'payload length'),
      c('idle_before', 'f64', 'seconds with no packet either way before it'),
      c('acks_all_peer_data', 'bool', 'for FIN/RST: its ACK covered all the peer had sent', true),
      c('packet', 'i64', 'frame number in its capture file (-1: rebuilt)'),
    ],
  },
  transactions: {
    name: 'transactions',
    doc: 'one row per HTTP request/response (per stream for HTTP/2; Zeek http.log); ts = request first byte',
    columns: [
      ...COMMON,
      c('uid', 'str', 'transaction uid (connection uid - request index)'),
      c('conn_uid', 'str', 'connection uid'),
      c('capture_point', 'str', 'capture point of the connection'),
      ...ENDPOINTS,
      c('http_version', 'str', "'1.0' | '1.1' | '2'"),
      c('stream_id', 'i64', 'HTTP/2 stream', true),
      c('method', 'str', '', true),
      c('host', 'str', 'Host / :authority', true),
      c('path', 'str', 'request target', true),
      c('status', 'i32', 'final status', true),
      c('trace_id', 'str', 'X-Amzn-Trace-Id', true),
      c('user_agent', 'str', '', true),
      c('req_first_ts', 'f64', '', true),
      c('req_last_ts', 'f64', '', true),
      c('resp_first_ts', 'f64', '', true),
      c('resp_last_ts', 'f64', '', true),
      c('duration', 'f64', 'response last byte - request first byte, seconds', true),
      c('request_index', 'i32', '1 for the first request on the connection'),
      c('idle_before', 'f64', 'connection idle before the request, seconds', true),
      c('outcome', 'str', 'complete | no-response | incomplete | malformed'),
      c('ended_by', 'str', 'rst | fin | rst-stream | goaway | capture-end', true),
      c('ended_by_dir', 'str', "'client' | 'server'", true),
      c('error_code', 'str', 'HTTP/2 RST_STREAM / GOAWAY code', true),
      c('malformed_reason', 'str', '', true),
      c('request_body_bytes', 'i64', ''),
      c('response_body_bytes', 'i64', ''),
      c('resp_head_bytes', 'i64', 'HTTP/1 response head size, status line to the empty line (over 32 KB: an ALB answers 502); since version 2', true),
      c('resp_content_length', 'i64', 'Content-Length the response declared (more than response_body_bytes: a body cut short); since version 2', true),
      c('goaway_ts', 'f64', 'HTTP/2: the GOAWAY that ended this stream unprocessed: its time; since version 2', true),
      c('goaway_last_stream', 'i64', 'and its last-stream-id; since version 2', true),
    ],
  },
  tls: {
    name: 'tls',
    doc: 'one row per TLS connection (Zeek ssl.log); ts = connection start; no secrets',
    columns: [
      ...COMMON,
      c('uid', 'str', 'connection uid'),
      c('version', 'str', "'TLS 1.3', ...", true),
      c('cipher', 'str', 'cipher suite name', true),
      c('server_name', 'str', 'SNI', true),
      c('alpn', 'str', 'negotiated ALPN', true),
      c('resumed', 'bool', ''),
      c('established', 'bool', 'handshake completed'),
      c('decrypted', 'bool', 'records decrypted with the key log'),
      c('not_decrypted_reason', 'str', 'no-key | auth-failed | unsupported-suite | capture-gap | ...', true),
      c('alert', 'str', 'first fatal alert', true),
      c('alert_from', 'str', "'client' | 'server'", true),
    ],
  },
  findings: {
    name: 'findings',
    doc: 'one row per finding (docs/report-schema.md); ts = the failed request (or the attempt)',
    columns: [
      ...COMMON,
      c('id', 'str', 'stable id: the same incident recorded twice has the same id'),
      c('kind', 'str', 'idle-timeout-reset, keepalive-race, ...'),
      c('severity', 'str', 'error | warning | info'),
      c('confidence', 'str', 'high | medium | low'),
      c('status', 'i32', 'HTTP status explained', true),
      c('method', 'str', '', true),
      c('path', 'str', '', true),
      c('client', 'str', 'ip:port of the load balancer\'s client', true),
      c('target_conn_uid', 'str', 'the load balancer → target connection', true),
      c('reset_by', 'str', 'ip:port that sent the fatal RST', true),
      c('idle', 'f64', 'idle time before the fatal request, seconds', true),
      c('summary', 'str', 'one sentence'),
      c('conn_uids', 'str[]', 'every connection involved'),
      c('report', 'str', 'the whole finding as report JSON (schema of docs/report-schema.md)'),
    ],
  },
  lb_log: {
    name: 'lb_log',
    doc: 'load-balancer access-log lines that need explaining (elb_status 5xx, 460, 000); ts = the log time',
    columns: [
      ...COMMON,
      c('kind', 'str', 'alb | clb | nlb'),
      c('file', 'str', 'log file'),
      c('line', 'i64', 'line number'),
      c('request_ts', 'f64', 'request_creation_time', true),
      c('elb_status', 'i32', '', true),
      c('target_status', 'i32', '', true),
      c('client_h', 'str', '', true),
      c('client_p', 'i32', '', true),
      c('target_h', 'str', '', true),
      c('target_p', 'i32', '', true),
      c('request_processing', 'f64', 'seconds', true),
      c('target_processing', 'f64', 'seconds', true),
      c('response_processing', 'f64', 'seconds', true),
      c('method', 'str', '', true),
      c('path', 'str', '', true),
      c('trace_id', 'str', '', true),
      c('error_reason', 'str', '', true),
      c('raw', 'str', 'the line as evidence prints it'),
    ],
  },
  lb_targets: {
    name: 'lb_targets',
    doc: 'targets an access log names (every line, summarised per file): tells target-side connections from client-side ones; ts = first line',
    columns: [...COMMON, c('file', 'str', 'log file'), c('target_h', 'str', ''), c('target_p', 'i32', ''), c('end_ts', 'f64', 'last line'), c('lines', 'i64', '')],
  },
  flow_log: {
    name: 'flow_log',
    doc: 'VPC flow-log rows (REJECTs, and ACCEPTs the path model cites near an error); ts = the row\'s start',
    columns: [
      ...COMMON,
      c('file', 'str', 'log file'),
      c('line', 'i64', ''),
      c('end_ts', 'f64', ''),
      c('interface_id', 'str', '', true),
      c('src_h', 'str', ''),
      c('src_p', 'i32', '', true),
      c('dst_h', 'str', ''),
      c('dst_p', 'i32', '', true),
      c('protocol', 'i32', '', true),
      c('action', 'str', 'ACCEPT | REJECT', true),
      c('tcp_flags', 'i32', '', true),
      c('raw', 'str', 'the row as evidence prints it'),
    ],
  },
  flow_pairs: {
    name: 'flow_pairs',
    doc: 'every conversation (src → dst:port) a flow log holds, summarised per file: absence from flow logs means something; ts = first row',
    columns: [...COMMON, c('file', 'str', ''), c('src_h', 'str', ''), c('dst_h', 'str', ''), c('dst_p', 'i32', '', true), c('end_ts', 'f64', ''), c('rows', 'i64', ''), c('rejects', 'i64', '')],
  },
  captures: {
    name: 'captures',
    doc: 'one row per capture file a node wrote or read (per rotation); ts = first packet',
    columns: [...COMMON, c('file', 'str', ''), c('end_ts', 'f64', 'last packet'), c('packets', 'i64', ''), c('bytes', 'i64', ''), c('capture_points', 'str[]', '')],
  },
} as const satisfies Record<string, Omit<TableDef, 'name'> & { name: string }>;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** A row: column name → value (null for missing; arrays for list columns; booleans for bool). */
export type Row = Record<string, string | number | boolean | null | readonly number[] | readonly string[]>;

export function tableDef(name: TableName): TableDef {
  return TABLES[name] as unknown as TableDef;
}

/** Checks a row against its table: every column present with a value of its type (used by tests and the sinks' debug mode). */
export function checkRow(table: TableName, row: Row): string | null {
  for (const col of tableDef(table).columns) {
    const v = row[col.name];
    if (v === undefined) return `${table}.${col.name} missing`;
    if (v === null) {
      if (!col.nullable) return `${table}.${col.name} is null`;
      continue;
    }
    const ok =
      col.type === 'str' ? typeof v === 'string' :
      col.type === 'bool' ? typeof v === 'boolean' :
      col.type === 'f64[]' ? Array.isArray(v) && v.every((x) => typeof x === 'number') :
      col.type === 'str[]' ? Array.isArray(v) && v.every((x) => typeof x === 'string') :
      typeof v === 'number' && Number.isFinite(v) && (col.type === 'f64' || Number.isInteger(v));
    if (!ok) return `${table}.${col.name}: ${JSON.stringify(v)} is not ${col.type}`;
  }
  for (const k of Object.keys(row)) if (!tableDef(table).columns.some((col) => col.name === k)) return `${table}.${k} is not a column`;
  return null;
}
