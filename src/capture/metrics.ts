/**
 * Counters of `mirrorlens listen`, their Prometheus text exposition (version 0.0.4) served by a
 * node:http endpoint, the one-line stderr summary, and the kernel's UDP receive-buffer drop count
 * for our sockets (the `drops` column of /proc/net/udp and /proc/net/udp6).
 */
import { createServer, type Server } from 'node:http';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Reasons a datagram or inner packet is not written. Stable names: they are metric labels. */
export const DropReason = {
  /** Datagram from an address outside --allow-source. */
  SourceNotAllowed: 'source-not-allowed',
  /** Not a VXLAN datagram (too short, I flag clear) on the VXLAN port. */
  NotVxlan: 'not-vxlan',
  /** Not a GENEVE datagram (too short, version != 0, bad option lengths) on the GENEVE port. */
  NotGeneve: 'not-geneve',
  /** GENEVE carrying a protocol other than Ethernet / IPv4 / IPv6. */
  GeneveProtocol: 'geneve-unsupported-protocol',
  /** VNI / endpoint not named with --session while --only-known-sessions. */
  UnknownSession: 'unknown-session',
  /** Rejected by the --filter rules (or matched no rule). */
  Filter: 'filter',
  /** Could not be written (disk full with nothing left to delete). */
  WriteError: 'write-error',
  /** Too many capture points of named sessions (--session VNI from many sources): over --max-capture-points. */
  TooManyCapturePoints: 'too-many-capture-points',
  /**
   * Not plausibly a mirror frame, so given no capture point: VXLAN flags other than exactly I or
   * reserved fields set, or an inner frame that is neither IP nor ARP (garbage, a flood).
   */
  Implausible: 'implausible',
  /** Packet ring engine: a fragment of a fragmented outer UDP datagram (not reassembled). */
  OuterFragment: 'outer-fragment',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];
export const DROP_REASONS: readonly DropReason[] = Object.values(DropReason);

/** Per capture point counters (one pcapng interface each). */
export interface PointCounters {
  /** Stable label: session name or `vxlan-<vni>` / `gwlb-<endpoint>`. */
  name: string;
  /** Outer source address (mirror source ENI, or GWLB node). */
  source: string;
  packets: number;
  /** Inner frame bytes written. */
  bytes: number;
  filtered: number;
}

export class ListenMetrics {
  readonly startedAt = Date.now();
  /** UDP datagrams received (all ports, before any check). */
  datagrams = 0;
  datagramBytes = 0;
  /** Inner packets written to pcapng. */
  packets = 0;
  /** Inner frame bytes written. */
  bytes = 0;
  readonly drops = new Map<DropReason, number>(DROP_REASONS.map((r) => [r, 0]));
  readonly points = new Map<string, PointCounters>();
  /** Kernel receive-buffer drops on our sockets (from /proc), -1 when unknown. */
  kernelDrops = -1;
  /** Frames the packet ring dropped because it was full (ring engine), -1 when no ring. */
  ringDrops = -1;
  /** Capture points now (pcapng interfaces in use), unnamed ones evicted (least recently used). */
  capturePoints = 0;
  capturePointsEvicted = 0;
  /** Packets that evicted capture points had written (they stay in the files). */
  evictedPackets = 0;
  /** Mirrored packets that arrived cut (session PacketLength or target MTU): original > captured. */
  mirrorTruncated = 0;
  /** Inner packets whose direction relative to the mirrored ENI was found. */
  direction = { ingress: 0, egress: 0, unknown: 0 };
  /** Capture files opened, files deleted by the ring, disk-full events, TLS secrets written. */
  files = 0;
  filesDeleted = 0;
  diskFull = 0;
  secrets = 0;
  /** Packets counted written but lost at flush (disk full). */
  lostAtFlush = 0;
  /** Bytes currently kept on disk by the ring (current file included). */
  diskBytes = 0;

  drop(reason: DropReason): void {
    this.drops.set(reason, this.drops.get(reason)! + 1);
  }

  dropped(): number {
    let n = 0;
    for (const v of this.drops.values()) n += v;
    return n;
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labels(p: PointCounters): string {
  return `{session="${esc(p.name)}",source="${esc(p.source)}"}`;
}

/** Prometheus text exposition format 0.0.4. */
export function renderPrometheus(m: ListenMetrics): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${Number.isFinite(v) ? v : 'NaN'}`);
  };
  metric('mirrorlens_listen_datagrams_total', 'counter', 'UDP datagrams received on the VXLAN/GENEVE ports.', [['', m.datagrams]]);
  metric('mirrorlens_listen_datagram_bytes_total', 'counter', 'UDP payload bytes received.', [['', m.datagramBytes]]);
  metric('mirrorlens_listen_packets_total', 'counter', 'Decapsulated packets written to pcapng.', [['', m.packets]]);
  metric('mirrorlens_listen_bytes_total', 'counter', 'Decapsulated packet bytes written to pcapng.', [['', m.bytes]]);
  metric(
    'mirrorlens_listen_drops_total',
    'counter',
    'Datagrams or packets not written, by reason.',
    [...m.drops].map(([r, v]) => [`{reason="${r}"}`, v]),
  );
  metric('mirrorlens_listen_kernel_receive_drops', 'gauge', 'Datagrams the kernel dropped because our UDP receive buffer was full (/proc/net/udp drops; -1 unknown).', [['', m.kernelDrops]]);
  metric('mirrorlens_listen_ring_drops', 'gauge', 'Frames the packet ring dropped because it was full (ring engine; -1 no ring).', [['', m.ringDrops]]);
  metric('mirrorlens_listen_capture_points', 'gauge', 'Capture points (pcapng interfaces) in use.', [['', m.capturePoints]]);
  metric('mirrorlens_listen_capture_points_evicted_total', 'counter', 'Unnamed capture points forgotten, least recently used first (over --max-capture-points).', [['', m.capturePointsEvicted]]);
  metric('mirrorlens_listen_evicted_packets_total', 'counter', 'Packets written by capture points later evicted.', [['', m.evictedPackets]]);
  metric('mirrorlens_listen_mirror_truncated_total', 'counter', 'Mirrored packets that arrived cut (session packet length or target MTU).', [['', m.mirrorTruncated]]);
  metric('mirrorlens_listen_session_packets_total', 'counter', 'Packets written per capture point (VNI / GWLB endpoint).', [...m.points.values()].map((p) => [labels(p), p.packets]));
  metric('mirrorlens_listen_session_bytes_total', 'counter', 'Bytes written per capture point.', [...m.points.values()].map((p) => [labels(p), p.bytes]));
  metric('mirrorlens_listen_session_filtered_total', 'counter', 'Packets dropped by the filter per capture point.', [...m.points.values()].map((p) => [labels(p), p.filtered]));
  metric('mirrorlens_listen_direction_packets_total', 'counter', 'Packets by direction relative to the mirrored ENI.', [
    ['{direction="ingress"}', m.direction.ingress],
    ['{direction="egress"}', m.direction.egress],
    ['{direction="unknown"}', m.direction.unknown],
  ]);
  metric('mirrorlens_listen_files_total', 'counter', 'Capture files opened.', [['', m.files]]);
  metric('mirrorlens_listen_files_deleted_total', 'counter', 'Capture files deleted by the ring.', [['', m.filesDeleted]]);
  metric('mirrorlens_listen_disk_full_total', 'counter', 'Disk-full (ENOSPC) write failures.', [['', m.diskFull]]);
  metric('mirrorlens_listen_lost_at_flush_total', 'counter', 'Packets accepted but lost when a flush hit a full disk.', [['', m.lostAtFlush]]);
  metric('mirrorlens_listen_disk_bytes', 'gauge', 'Bytes kept on disk by the capture ring.', [['', m.diskBytes]]);
  metric('mirrorlens_listen_tls_secrets_total', 'counter', 'TLS key log lines copied into capture files.', [['', m.secrets]]);
  metric('mirrorlens_listen_uptime_seconds', 'gauge', 'Seconds since listen started.', [['', (Date.now() - m.startedAt) / 1000]]);
  return out.join('\n') + '\n';
}

function si(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/**
 * One stderr line: totals, rates since the previous call, per-session packets, non-zero drops.
 * `prev` holds the previous totals and is updated.
 */
export function renderStatusLine(m: ListenMetrics, prev: { t: number; packets: number; bytes: number }): string {
  const now = Date.now();
  const dt = Math.max(0.001, (now - prev.t) / 1000);
  const pps = (m.packets - prev.packets) / dt;
  const bps = ((m.bytes - prev.bytes) * 8) / dt;
  prev.t = now;
  prev.packets = m.packets;
  prev.bytes = m.bytes;
  const parts = [`listen: ${si(m.packets)} pkts ${si(m.bytes)}B written (${si(Math.round(pps))} pkt/s, ${si(Math.round(bps))}bit/s)`];
  const sessions = [...m.points.values()].slice(0, 8).map((p) => `${p.name}=${si(p.packets)}`);
  if (sessions.length) parts.push(`sessions ${sessions.join(' ')}${m.points.size > 8 ? ` +${m.points.size - 8}` : ''}`);
  const drops = [...m.drops].filter(([, v]) => v > 0).map(([r, v]) => `${r}=${si(v)}`);
  parts.push(drops.length ? `drops ${drops.join(' ')}` : 'drops 0');
  if (m.ringDrops >= 0) parts.push(`ring-drops ${si(m.ringDrops)}`);
  else parts.push(`kernel-drops ${m.kernelDrops < 0 ? '?' : si(m.kernelDrops)}`);
  if (m.capturePointsEvicted) parts.push(`points evicted ${si(m.capturePointsEvicted)}`);
  if (m.mirrorTruncated) parts.push(`mirror-truncated ${si(m.mirrorTruncated)}`);
  if (m.diskFull) parts.push(`disk-full ${m.diskFull}`);
  return parts.join(' | ');
}

/** Inodes of the sockets this process holds (from /proc/self/fd). */
function ownSocketInodes(): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const l = readlinkSync(`/proc/self/fd/${fd}`);
      const m = /^socket:\[(\d+)\]$/.exec(l);
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/**
 * Sum of the `drops` column of /proc/net/udp and /proc/net/udp6 over this process's sockets bound
 * to one of `ports`. -1 when /proc is not readable (not Linux).
 */
export function readKernelUdpDrops(ports: readonly number[]): number {
  const inodes = ownSocketInodes();
  const hexPorts = new Set(ports.filter((p) => p > 0).map((p) => p.toString(16).toUpperCase().padStart(4, '0')));
  let total = 0;
  let readable = false;
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i]!.trim().split(/\s+/);
      if (c.length < 13) continue;
      const local = c[1]!;
      const port = local.slice(local.lastIndexOf(':') + 1);
      if (!hexPorts.has(port)) continue;
      if (inodes.size > 0 && !inodes.has(c[9]!)) continue;
      total += Number(c[c.length - 1]) || 0;
    }
  }
  return readable ? total : -1;
}

/** Serves GET /metrics (text format) and GET / (a pointer) on `port` at `host`. */
export function startMetricsServer(m: ListenMetrics, port: number, host?: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      const body = renderPrometheus(m);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/' || path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('mirrorlens listen: metrics at /metrics\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
