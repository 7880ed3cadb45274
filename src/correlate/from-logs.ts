/**
 * Adapters from the logs stage's records to the compact views correlation keeps. A record's
 * strings are slices of the log's 64 KiB read chunk; what is kept must hold copies of its own
 * (`ownString`), or it would keep its whole chunk alive: the load-balancer views are made only
 * for lines the Correlator keeps, so they copy here; a flow row's view is made for every row
 * and the Correlator copies what it keeps of it (`addFlowRow`).
 */
import type { AlbLogRecord } from '../logs/alb.js';
import type { ClbLogRecord } from '../logs/clb.js';
import type { FlowLogRecord } from '../logs/flow.js';
import { ownString, ownStringOrNull } from '../logs/lines.js';
import type { FlowRowView, LbLogView } from './views.js';

function pathWithQuery(path: string | null, query: string | null): string | null {
  if (path === null) return null;
  return query ? `${path}?${query}` : path;
}

function dash<T>(v: T | null): string {
  return v === null || v === undefined ? '-' : String(v);
}

export function albLogView(r: AlbLogRecord): LbLogView {
  const req = r.request;
  return {
    kind: 'alb',
    file: r.file,
    line: r.line,
    time: r.time,
    requestTime: r.requestCreationTime,
    elbStatus: r.elbStatusCode,
    targetStatus: r.targetStatusCode,
    clientAddr: ownStringOrNull(r.clientAddr),
    clientPort: r.clientPort,
    targetAddr: ownStringOrNull(r.targetAddr),
    targetPort: r.targetPort,
    requestProcessingSeconds: r.requestProcessingSeconds,
    targetProcessingSeconds: r.targetProcessingSeconds,
    responseProcessingSeconds: r.responseProcessingSeconds,
    method: ownStringOrNull(req.method ?? null),
    path: ownStringOrNull(pathWithQuery(r.path, r.query)),
    traceId: ownStringOrNull(r.traceId),
    errorReason: ownStringOrNull(r.errorReason),
    raw: ownString(
      `${r.type} ${r.timeString} client ${r.clientAddr}:${r.clientPort} target ${r.targetAddr === null ? '-' : `${r.targetAddr}:${dash(r.targetPort)}`} ` +
      `processing ${dash(r.requestProcessingSeconds)}/${dash(r.targetProcessingSeconds)}/${dash(r.responseProcessingSeconds)} ` +
      `elb_status ${dash(r.elbStatusCode)} target_status ${dash(r.targetStatusCode)} "${req.raw ?? ''}"` +
      `${r.traceId ? ` trace ${r.traceId}` : ''}${r.errorReason ? ` error_reason ${r.errorReason}` : ''}`,
    ),
  };
}

export function clbLogView(r: ClbLogRecord): LbLogView {
  const req = r.request;
  return {
    kind: 'clb',
    file: r.file,
    line: r.line,
    time: r.time + Math.max(0, r.requestProcessingSeconds ?? 0) + Math.max(0, r.backendProcessingSeconds ?? 0) + Math.max(0, r.responseProcessingSeconds ?? 0),
    requestTime: r.time,
    elbStatus: r.elbStatusCode,
    targetStatus: r.backendStatusCode,
    clientAddr: ownStringOrNull(r.clientAddr),
    clientPort: r.clientPort,
    targetAddr: ownStringOrNull(r.backendAddr),
    targetPort: r.backendPort,
    requestProcessingSeconds: r.requestProcessingSeconds,
    targetProcessingSeconds: r.backendProcessingSeconds,
    responseProcessingSeconds: r.responseProcessingSeconds,
    method: ownStringOrNull(req.method ?? null),
    path: ownStringOrNull(pathWithQuery(r.path, r.query)),
    traceId: null,
    errorReason: null,
    raw: ownString(`${r.timeString} client ${r.clientAddr}:${r.clientPort} backend ${r.backendAddr ?? '-'}:${dash(r.backendPort)} elb_status ${dash(r.elbStatusCode)} backend_status ${dash(r.backendStatusCode)} "${req.raw ?? ''}"`),
  };
}

export function flowRowView(r: FlowLogRecord): FlowRowView | null {
  if (r.srcaddr === null || r.dstaddr === null || r.start === null) return null;
  const action = r.action === 'ACCEPT' || r.action === 'REJECT' ? r.action : null;
  return {
    file: r.file,
    line: r.line,
    start: r.start,
    end: r.end ?? r.start,
    interfaceId: r.interfaceId,
    srcAddr: r.srcaddr,
    dstAddr: r.dstaddr,
    srcPort: r.srcport,
    dstPort: r.dstport,
    protocol: r.protocol,
    action,
    tcpFlags: r.tcpFlags,
    raw: `${r.interfaceId ?? '-'} ${r.srcaddr}:${dash(r.srcport)} → ${r.dstaddr}:${dash(r.dstport)} proto ${dash(r.protocolName ?? r.protocol)} ${dash(r.action)}${r.tcpFlagNames.length ? ` flags ${r.tcpFlagNames.join(',')}` : ''}${r.flowDirection ? ` ${r.flowDirection}` : ''}`,
  };
}
