/**
 * VPC flow-log rows matched to a path's legs, before and after a NAT hop.
 *
 * AWS writes each row with the addresses the ENI saw: the load balancer's ENI the pre-NAT
 * connection (ALB → NLB), the target's ENI the post-NAT one (NLB → target: the load balancer's
 * source ip:port with client IP preservation, the NLB's own address and a new port without it).
 * A row joins a leg by, in order of strength:
 *
 * | key | the row | confidence |
 * |---|---|---|
 * | `five-tuple` | has the addresses and ports of a captured leg (either direction) | high |
 * | `preserved-client` | starts at the lb leg's client ip:port and goes elsewhere (an NLB preserving the client IP) | high |
 * | `nat-source` | starts at the lb leg's server address (the hop's own address) toward another host | medium |
 * | `log-target` | (no lb leg captured) goes to the logged target ip:port, or continues such a row's source ip:port, or starts at the logged target's address | medium |
 *
 * and only when the row's time window covers the leg's SYNs (or the request).
 */
import type { JoinConfidence, Path } from './path.js';
import type { ConnView, FlowRowView, LbLogView } from './views.js';
import { pathLegs } from './path.js';

export type FlowMatchKey = 'five-tuple' | 'preserved-client' | 'nat-source' | 'log-target';

export interface FlowMatch {
  row: FlowRowView;
  key: FlowMatchKey;
  confidence: JoinConfidence;
  /** Which leg's addresses the row carries: `pre-nat` (as the load balancer sent) or `post-nat` (as the target received). */
  side: 'pre-nat' | 'post-nat';
}

/** Flow-log rows are aggregated over whole seconds: a row [start, end] covers t within a second either side. */
function covers(r: FlowRowView, from: number, to: number): boolean {
  return to >= r.start - 1 && from <= r.end + 1;
}

function endpointsMatch(r: FlowRowView, c: { clientAddr: string; clientPort: number; serverAddr: string; serverPort: number }): boolean {
  const fwd = r.srcAddr === c.clientAddr && r.dstAddr === c.serverAddr && (r.srcPort === null || r.srcPort === c.clientPort) && (r.dstPort === null || r.dstPort === c.serverPort);
  const back = r.srcAddr === c.serverAddr && r.dstAddr === c.clientAddr && (r.srcPort === null || r.srcPort === c.serverPort) && (r.dstPort === null || r.dstPort === c.clientPort);
  return fwd || back;
}

function span(c: ConnView): [number, number] {
  const first = c.synTimes[0] ?? c.startTime;
  const last = c.synTimes[c.synTimes.length - 1] ?? c.endTime;
  return [first, Math.max(last, first)];
}

/**
 * The rows (from `rows`: REJECT rows and the rows kept near errors) that belong to the path.
 * `window`: the request's time span, for rows matched through the log alone.
 */
export function matchFlowRows(path: Path, rows: readonly FlowRowView[], log: LbLogView | null, window: [number, number] | null, skew: number): FlowMatch[] {
  const out: FlowMatch[] = [];
  const taken = new Set<FlowRowView>();
  const add = (row: FlowRowView, key: FlowMatchKey, confidence: JoinConfidence, side: FlowMatch['side']): void => {
    if (taken.has(row)) return;
    taken.add(row);
    out.push({ row, key, confidence, side });
  };
  // Rows are in the log's clock like access logs: compare in capture time.
  const rowIn = (r: FlowRowView, from: number, to: number) => covers(r, from + skew, to + skew);

  // 1. The captured legs' own addresses (connections and failed attempts, every leg).
  for (const l of pathLegs(path)) {
    const conns = [...l.attempts, ...(l.conn ? [l.conn] : [])];
    for (const c of conns) {
      const [a, b] = span(c);
      for (const r of rows) if (endpointsMatch(r, c) && rowIn(r, a, b)) add(r, 'five-tuple', 'high', l.role === 'target' ? 'post-nat' : 'pre-nat');
    }
  }
  // 2. Past the NAT hop from the lb leg's failed attempts (an established connection's far leg
  // is matched by its own addresses when captured): the preserved client ip:port, or the hop's
  // own address as source.
  const lb = path.lb;
  if (lb) {
    for (const c of lb.attempts) {
      const [a, b] = span(c);
      for (const r of rows) {
        if (taken.has(r) || !rowIn(r, a, b)) continue;
        if (r.srcAddr === c.clientAddr && r.srcPort === c.clientPort && !(r.dstAddr === c.serverAddr && r.dstPort === c.serverPort)) add(r, 'preserved-client', 'high', 'post-nat');
        else if (r.srcAddr === c.serverAddr && r.dstAddr !== c.clientAddr && r.dstAddr !== c.serverAddr) add(r, 'nat-source', 'medium', 'post-nat');
      }
    }
  }
  // 3. No back leg captured at all: from the access log's target (the hop's address) and the request's time.
  if (!lb && !path.target && log && log.targetAddr !== null && window) {
    const [a, b] = window;
    const sources = new Set<string>();
    for (const r of rows) {
      if (taken.has(r) || !rowIn(r, a, b)) continue;
      if (r.dstAddr === log.targetAddr && (r.dstPort === null || r.dstPort === log.targetPort)) {
        add(r, 'log-target', 'medium', 'pre-nat');
        if (r.srcPort !== null) sources.add(`${r.srcAddr}|${r.srcPort}`);
      }
    }
    for (const r of rows) {
      if (taken.has(r) || !rowIn(r, a, b)) continue;
      const preserved = r.srcPort !== null && sources.has(`${r.srcAddr}|${r.srcPort}`);
      const natSource = r.srcAddr === log.targetAddr;
      if (preserved || natSource) add(r, 'log-target', 'medium', 'post-nat');
    }
  }
  out.sort((x, y) => x.row.start - y.row.start || x.row.line - y.row.line);
  return out;
}
