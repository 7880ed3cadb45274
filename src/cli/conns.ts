/**
 * `mirrorlens conns CAPTURE...`: one line per TCP connection (state, history, idle gaps, who
 * closed it and how), optionally with its TCP events; JSON lines with --json.
 */
import type { CliIO, Command } from './command.js';
import { INCIDENT_HELP, INCIDENT_OPTIONS, captureArgs, incidentOption, numberOption, parseCommandArgs } from './command.js';
import { wrapHanging, wrapWidth } from './terminal.js';
import { clientMatches } from '../capture/incident.js';
import { expandCaptureInputs } from '../capture/inputs.js';
import { overlapsWindow } from '../capture/window.js';
import { packetWindow } from '../analyze/incident.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { parseIpv4 } from '../wire/ipv4.js';
import { escapeText } from '../report/escape.js';
import { processCaptures, type PipelineOptions } from '../flow/pipeline.js';
import { CONN_STATES, type ConnState } from '../flow/conn-state.js';
import type { ConnectionRecord, TcpEvent } from '../flow/record.js';
import type { PacketDecoder } from '../wire/packet.js';
import { isoMs } from '../capture/time-text.js';

const USAGE = `Usage: mirrorlens conns CAPTURE... [options]

Lists the TCP connections in pcap/pcapng captures (plain, .gz, VXLAN/GENEVE
mirrored): client and server, Zeek-style state and history, packets and bytes
each way, the longest idle period, who closed the connection and how (FIN/RST),
the capture point (mirror session), and TCP events (Wireshark names:
retransmission, zero-window, keep-alive, reset, ...). Several captures, a
directory (listen --out) or a quoted glob are read in order as one capture.
Connections are printed when they end (closed, timed out, or at the end).

Options:
  -j, --json             JSON lines: {"kind":"connection",...} (and
                         {"kind":"event",...} with --events)
      --events           also list each connection's TCP events
      --host A           only connections with A (IPv4/IPv6 address or IPv4
                         CIDR) at either end
      --port P           only connections with port P at either end
      --state S[,S...]   only these states (${CONN_STATES.join(', ')})
      --min-idle SECONDS only connections idle at least this long at some point
      --reset            only connections with a RST
      --idle-gap SECONDS report silences longer than this as idle gaps
                         (default 30)
      --idle-timeout SECONDS  keep idle connections this long (default 6000,
                         the NLB maximum)
      --per-capture-point  the same 5-tuple at two mirror sessions (VNIs) is two
                         connections (default: one, duplicates dropped)
  -h, --help             this help

${INCIDENT_HELP}
  (a connection is listed when its lifetime overlaps the window; --client is
  its client end; --trace-id does not apply to connections)

Columns: start time, uid, client -> server, state, history, duration, packets
and payload bytes client/server, longest idle, close (who/how), events (count
by type), capture point. In a pipe: tab-separated, one connection a line; on a
terminal narrower than the table: two lines a connection.
`;

interface HostFilter {
  v4?: { net: number; mask: number };
  text?: string;
}

function parseHost(s: string): HostFilter {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d{1,2}))?$/.exec(s);
  if (m) {
    const a = parseIpv4(m[1]!);
    const bits = m[2] === undefined ? 32 : Number(m[2]);
    if (a < 0 || bits > 32) throw new MirrorlensError(ErrorCode.Usage, `--host wants an address or IPv4 CIDR, got '${s}'`);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { v4: { net: (a & mask) >>> 0, mask } };
  }
  if (s.includes(':')) return { text: s.toLowerCase() };
  throw new MirrorlensError(ErrorCode.Usage, `--host wants an address or IPv4 CIDR, got '${s}'`);
}

function hostMatchesRecord(h: HostFilter, r: ConnectionRecord): boolean {
  if (h.v4) {
    for (const a of [r.clientAddr, r.serverAddr]) {
      const n = parseIpv4(a);
      if (n >= 0 && ((n & h.v4.mask) >>> 0) === h.v4.net) return true;
    }
    return false;
  }
  return r.clientAddr === h.text || r.serverAddr === h.text;
}

function fmtTime(t: number): string {
  return Number.isFinite(t) ? (isoMs(Math.round(t * 1000)) ?? String(t)) : '-';
}

function fmtSeconds(s: number): string {
  if (s < 10) return `${s.toFixed(3)}s`;
  if (s < 600) return `${s.toFixed(1)}s`;
  return `${Math.round(s)}s`;
}

function fmtBytes(n: number): string {
  if (n < 10000) return String(n);
  if (n < 10_000_000) return `${(n / 1000).toFixed(0)}k`;
  return `${(n / 1e6).toFixed(0)}M`;
}

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function eventSummary(r: ConnectionRecord): string {
  const parts = Object.entries(r.eventCounts)
    .filter(([k]) => k !== 'idle-gap')
    .map(([k, v]) => `${k}${v > 1 ? `x${v}` : ''}`);
  return parts.length ? parts.join(',') : '-';
}

function closeText(r: ConnectionRecord): string {
  if (r.closedBy === null) return r.endCause === 'timeout' ? 'timeout' : '-';
  return `${r.closedBy}/${r.closeHow}`;
}

const COLS: [string, number][] = [
  ['start', 24],
  ['uid', 19],
  ['client -> server', 44],
  ['state', 6],
  ['history', 12],
  ['duration', 9],
  ['pkts c/s', 11],
  ['bytes c/s', 13],
  ['max idle', 9],
  ['close', 11],
  ['events', 0],
  ['point', 0],
];

function rowOf(r: ConnectionRecord): string[] {
  return [
    fmtTime(r.startTime),
    r.uid,
    `${endpoint(r.clientAddr, r.clientPort)} -> ${endpoint(r.serverAddr, r.serverPort)}`,
    r.connState,
    escapeText(r.history),
    fmtSeconds(r.durationSeconds),
    `${r.packetsFromClient}/${r.packetsFromServer}`,
    `${fmtBytes(r.payloadBytesFromClient)}/${fmtBytes(r.payloadBytesFromServer)}`,
    fmtSeconds(r.maxIdleSeconds),
    closeText(r),
    eventSummary(r),
    escapeText(r.capturePoint || '-'),
  ];
}

/** Width of the one-line table on a terminal (the last columns are as wide as they are). */
const TABLE_WIDTH = COLS.reduce((a, c) => a + c[1] + 1, 0) + 24;

/** One connection: TSV in a pipe; a table row on a wide terminal; two wrapped lines on a narrow one. */
function formatRow(cells: string[], width: number | null, header = false): string {
  if (width === null) return cells.join('\t');
  if (width >= TABLE_WIDTH) return cells.map((c, i) => (COLS[i]![1] > 0 ? c.padEnd(COLS[i]![1]) : c)).join(' ').trimEnd();
  if (header) return 'start  uid  client -> server  state  history\n    duration, packets c/s, bytes c/s, max idle, close, events, capture point';
  const [start, uid, cs, state, history, dur, pkts, bytes, idle, close, events, point] = cells;
  const first = wrapHanging(`${start} ${uid} ${cs} ${state} ${history}`, width, 4);
  const second = wrapHanging(`    ${dur}  pkts ${pkts}  bytes ${bytes}  idle ${idle}  close ${close}  events ${events}${point !== '-' ? `  point ${point}` : ''}`, width, 6);
  return `${first}\n${second}`;
}

function eventLine(e: TcpEvent): string {
  const bits = [`  ${fmtTime(e.time)}`, e.type, `from ${e.from}`];
  if (e.packet >= 0) bits.push(`packet ${e.packet}`);
  if (e.len > 0) bits.push(`len ${e.len}`);
  if (e.state) bits.push(`state ${e.state}`);
  if (e.idleSeconds !== undefined) bits.push(`idle ${fmtSeconds(e.idleSeconds)}`);
  if (e.idleBeforeRequestSeconds !== undefined) bits.push(`idle before request ${fmtSeconds(e.idleBeforeRequestSeconds)}`);
  if (e.seqState) bits.push(`seq ${e.seqState}`);
  if (e.missingBytes !== undefined) bits.push(`missing ${e.missingBytes} bytes`);
  if (e.retries !== undefined) bits.push(`${e.retries} retries`);
  if (e.dupAckNum !== undefined) bits.push(`#${e.dupAckNum}`);
  if (e.previousUid) bits.push(`replaces ${e.previousUid}`);
  return bits.join('  ');
}

const MAX_EVENTS_PER_CONN = 10_000;

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals: args } = parseCommandArgs('conns', argv, {
    read: { type: 'string', multiple: true },
    ...INCIDENT_OPTIONS,
    json: { type: 'boolean' },
    events: { type: 'boolean' },
    host: { type: 'string' },
    port: { type: 'string' },
    state: { type: 'string' },
    'min-idle': { type: 'string' },
    reset: { type: 'boolean' },
    'idle-gap': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'per-capture-point': { type: 'boolean' },
  });
  const named = captureArgs(values, args);
  if (named.length === 0) throw new MirrorlensError(ErrorCode.Usage, "give at least one CAPTURE file (see 'mirrorlens conns --help')");
  const incident = incidentOption('conns', values);
  if (incident?.traceRoot) throw new MirrorlensError(ErrorCode.Usage, "--trace-id selects HTTP requests: use it with 'mirrorlens http' or 'analyze'");
  const json = values.json === true;
  const withEvents = values.events === true;
  const host = values.host === undefined ? null : parseHost(values.host as string);
  let port = -1;
  if (values.port !== undefined) {
    port = numberOption('conns', 'port', values.port as string, -1);
    if (!Number.isInteger(port) || port > 65535) throw new MirrorlensError(ErrorCode.Usage, `--port wants 0..65535, got '${values.port}'`);
  }
  let states: Set<string> | null = null;
  if (values.state !== undefined) {
    const list = (values.state as string).split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
    for (const s of list) if (!CONN_STATES.includes(s as ConnState)) throw new MirrorlensError(ErrorCode.Usage, `unknown --state '${s}' (one of ${CONN_STATES.join(', ')})`);
    states = new Set(list);
  }
  const minIdle = numberOption('conns', 'min-idle', values['min-idle'] as string | undefined, -1);
  const onlyReset = values.reset === true;
  const opts: PipelineOptions = {
    idleGapThresholdSeconds: numberOption('conns', 'idle-gap', values['idle-gap'] as string | undefined, 30),
    idleTimeoutSeconds: numberOption('conns', 'idle-timeout', values['idle-timeout'] as string | undefined, 6000),
    perCapturePoint: values['per-capture-point'] === true,
  };
  if (port >= 0 || (host && host.v4)) {
    // Packet pre-filter: cheaper than building connections we will not print. Both directions of
    // a connection pass or fail together, so results are the same as filtering records.
    opts.filter = (_rec, pkt: PacketDecoder) => {
      if (!pkt.tcpOk) return false;
      if (port >= 0 && pkt.tcp.srcPort !== port && pkt.tcp.dstPort !== port) return false;
      if (host && host.v4) {
        if (pkt.ipVersion !== 4) return false;
        const { net, mask } = host.v4;
        if (((pkt.ip4.src & mask) >>> 0) !== net && ((pkt.ip4.dst & mask) >>> 0) !== net) return false;
      }
      return true;
    };
  }

  const width = json ? null : wrapWidth(io);
  const tty = width !== null;
  const out = io.stdout;
  const pending = new Map<string, TcpEvent[]>();
  let shown = 0;
  let total = 0;
  // Inputs are checked before the header is printed: an error is then the only output.
  const positionals = await expandCaptureInputs(named);
  if (incident !== null) opts.window = packetWindow(incident);
  let headerDone = json;
  const header = (): void => {
    if (headerDone) return;
    headerDone = true;
    out.write(`${formatRow(COLS.map((c) => c[0]), width, true)}\n`);
  };

  const accept = (r: ConnectionRecord): boolean => {
    if (host && !hostMatchesRecord(host, r)) return false;
    if (port >= 0 && r.clientPort !== port && r.serverPort !== port) return false;
    if (states && !states.has(r.connState)) return false;
    if (minIdle >= 0 && r.maxIdleSeconds < minIdle) return false;
    if (onlyReset && r.resets.length === 0) return false;
    if (incident !== null) {
      if (!overlapsWindow(incident.window, r.startTime, r.endTime)) return false;
      if (incident.client !== null && !clientMatches(incident.client, r.clientAddr, r.clientPort)) return false;
    }
    return true;
  };

  const summary = await processCaptures(
    positionals,
    {
      onEvent: withEvents
        ? (e) => {
            let list = pending.get(e.uid);
            if (list === undefined) pending.set(e.uid, (list = []));
            if (list.length < MAX_EVENTS_PER_CONN) list.push(e);
          }
        : undefined,
      onConnectionEnd(r) {
        total++;
        // Events are raised when known (a hole only after the reorder window): list them in time order.
        const evs = (pending.get(r.uid) ?? []).sort((x, y) => x.time - y.time);
        pending.delete(r.uid);
        if (!accept(r)) return;
        shown++;
        header();
        if (json) {
          out.write(`${JSON.stringify({ kind: 'connection', ...r })}\n`);
          for (const e of evs) out.write(`${JSON.stringify({ kind: 'event', ...e })}\n`);
        } else {
          out.write(`${formatRow(rowOf(r), width)}\n`);
          if (withEvents) {
            for (const e of evs) out.write(`${eventLine(e)}\n`);
            if (r.events > evs.length) out.write(`  ... ${r.events - evs.length} more events\n`);
          }
        }
      },
      onWarning(w) {
        io.stderr.write(`mirrorlens conns: ${escapeText(w.file)} (byte offset ${w.byteOffset}): ${escapeText(w.message)}\n`);
      },
    },
    opts,
  );
  header();
  const f = summary.flow;
  const line =
    `${shown} of ${total} connections shown; ${summary.packets} packets (${f.tcpPackets} TCP), ` +
    `${f.duplicatePackets} duplicates dropped, ${f.evictedConnections} evicted, ${f.bufferOverflows} buffer overflows, ${f.gapBytes} bytes missing`;
  if (json) io.stderr.write(`${line}\n`);
  else if (tty) out.write(`\n${wrapHanging(line, width!, 2)}\n`);
  else io.stderr.write(`${line}\n`);
  return 0;
}

export const command: Command = {
  summary: 'list TCP connections: state, history, idle gaps, resets; --events for TCP events',
  usage: USAGE,
  run,
};
