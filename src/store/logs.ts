/**
 * Log records into the store (`logs --store`): the access-log lines that need explaining (5xx,
 * 460, 000) whole, every line's target summarised, flow-log REJECT rows whole and every
 * conversation summarised — what `analyze --store` needs from logs, not every line.
 */
import { Correlator } from '../correlate/correlate.js';
import { albLogView, clbLogView, flowRowView } from '../correlate/from-logs.js';
import type { LogRecord } from '../logs/read.js';
import type { Recorder } from './recorder.js';

export function recordLog(rec: Recorder, r: LogRecord): void {
  if (r.kind === 'alb' || r.kind === 'clb') {
    if (Correlator.keepsLogStatus(r.elbStatusCode)) rec.lbLog(r.kind === 'alb' ? albLogView(r) : clbLogView(r));
    if (r.kind === 'alb') rec.lbTarget(r.file, r.targetAddr, r.targetPort, r.time);
    else rec.lbTarget(r.file, r.backendAddr, r.backendPort, r.time);
  } else if (r.kind === 'flow') {
    const v = flowRowView(r);
    if (v) rec.flowRow(v);
  }
}
