/**
 * Checks `mirrorlens analyze`'s JSON report (docs/report-schema.md) against what a scenario
 * expects: the verdict kind, the failing request's path and status, the ALB→NLB connection and,
 * for resets, who sent the RST and the idle time before the request.
 */
import { NLB_VIP, TARGET_EP } from './packets.js';
import type { CheckResult, Verdict } from './result.js';
import type { Scenario } from './scenarios.js';

interface ReportFinding {
  kind?: string;
  severity?: string;
  summary?: string;
  status?: number | null;
  request?: { method?: string; path?: string; time?: string } | null;
  targetConnection?: { uid?: string; client?: string; server?: string } | null;
  resetBy?: string | null;
  idleSeconds?: number | null;
  goaway?: { lastStreamId?: number | null; errorCode?: string | null; streams?: { path?: string | null; outcome?: string; retry?: { status?: number | null } | null }[] } | null;
}

function findings(report: unknown): ReportFinding[] {
  const f = (report as { findings?: unknown }).findings;
  return Array.isArray(f) ? (f as ReportFinding[]) : [];
}

export function pickVerdict(s: Scenario, report: unknown): Verdict | null {
  const all = findings(report);
  const f = all.find((x) => x.request?.path === s.expectPath && x.kind === s.expectKind) ?? all.find((x) => x.request?.path === s.expectPath) ?? all.find((x) => x.severity === 'error') ?? all[0];
  if (!f) return null;
  return {
    kind: f.kind ?? null,
    status: f.status ?? null,
    path: f.request?.path ?? null,
    resetBy: f.resetBy ?? null,
    idleSeconds: f.idleSeconds ?? null,
    summary: f.summary ?? '',
  };
}

/** Kinds that are not an error: the verdict is the only finding and is info. */
const INFO_KINDS = new Set(['client-closed', 'capture-end']);

/**
 * `mirror`: which ENIs the analyzed capture holds; with only the target's, the RST the NLB sent the
 * load balancer was not captured, so its sender is not checked.
 */
export function verdictChecks(s: Scenario, v: Verdict | null, report: unknown, mirror: 'lb' | 'target' | 'all' = 'all'): CheckResult[] {
  const out: CheckResult[] = [];
  const check = (name: string, ok: boolean, detail: string): void => {
    out.push({ name, ok, detail });
  };
  if (s.goaway) {
    // One finding for the GOAWAY: info when the client retried every cut request and got it
    // answered (nothing louder), error when one was lost; the only other loud finding allowed is
    // the failed retry's own cause.
    const all = findings(report);
    const g = all.filter((f) => f.kind === 'http2-goaway');
    check('analyze: one http2-goaway finding for the GOAWAY (all its cut requests in it)', g.length === 1, all.map((f) => `${f.kind} ${f.severity} ${f.request?.path ?? ''}`).join('; ') || 'no finding');
    const f = g[0];
    const cut = Object.entries(s.goaway.cut);
    const clean = cut.every(([, fate]) => fate === 'retried');
    const loud = all.filter((x) => x !== f && x.severity !== 'info');
    const also = s.goawayAlso;
    if (clean) check('analyze: it is info (nothing was lost), and no finding is an error or warning', f?.severity === 'info' && loud.length === 0, all.map((x) => `${x.kind} ${x.severity}: ${x.summary}`).join('; ') || 'none');
    else check(`analyze: it is an error (requests were lost)${also ? `; the only other error or warning is the failed retry's ${also}` : ', the only finding at error or warning'}`, f?.severity === 'error' && (also ? loud.length === 1 && loud[0]!.kind === also : loud.length === 0), all.map((x) => `${x.kind} ${x.severity} ${x.request?.path ?? ''}: ${x.summary}`).join('; ') || 'none');
    const streams = f?.goaway?.streams ?? [];
    check(`analyze: GOAWAY last-stream-id ${s.goaway.lastStreamId} NO_ERROR`, f?.goaway?.lastStreamId === s.goaway.lastStreamId && f.goaway.errorCode === 'NO_ERROR', f?.goaway ? `${f.goaway.lastStreamId} ${f.goaway.errorCode}` : 'no goaway in the finding');
    const retryStatus = { retried: 200, 'retry-failed': 502, 'not-retried': undefined } as const;
    check(
      `analyze: the cut requests ${cut.map(([p, fate]) => `${p} ${fate}`).join(', ')}`,
      streams.map((x) => x.path).join(',') === cut.map(([p]) => p).join(',') && streams.every((x, i) => x.outcome === cut[i]![1] && (x.retry?.status ?? undefined) === retryStatus[cut[i]![1]]),
      streams.map((x) => `${x.path} ${x.outcome} ${x.retry?.status ?? '-'}`).join(', ') || 'none',
    );
    return out;
  }
  if (s.expectKind === null) {
    const errors = findings(report).filter((f) => f.severity === 'error');
    check('analyze: no error findings', errors.length === 0, errors.map((f) => `${f.kind}: ${f.summary}`).join('; ') || 'none');
    return out;
  }
  check(`analyze verdict: ${s.expectKind}`, v?.kind === s.expectKind, v ? `${v.kind}: ${v.summary}` : 'no finding');
  // One incident, one finding: nothing else at error or warning severity.
  const loud = findings(report).filter((f) => f.severity === 'error' || f.severity === 'warning');
  const wantLoud = INFO_KINDS.has(s.expectKind) ? 0 : 1;
  check(`analyze: exactly ${wantLoud} error/warning finding${wantLoud === 1 ? '' : 's'}`, loud.length === wantLoud && (wantLoud === 0 || loud[0]!.kind === s.expectKind), loud.map((f) => `${f.kind} ${f.request?.path ?? ''}: ${f.summary}`).join('; ') || 'none');
  check(`analyze: request ${s.expectPath} status ${s.expectStatus}`, v?.path === s.expectPath && v.status === s.expectStatus, v ? `${v.path} ${v.status}` : '-');
  const f = findings(report).find((x) => x.kind === v?.kind && x.request?.path === v?.path);
  if (s.expectKind !== 'target-connect-timeout' && s.expectKind !== 'flow-log-reject' && s.expectKind !== 'target-connection-refused' && s.expectKind !== 'return-path-blocked' && s.expectKind !== 'tls-handshake-failure' && s.expectKind !== 'target-unreachable') {
    const server = f?.targetConnection?.server;
    check(`analyze: target connection to ${NLB_VIP} (or ${TARGET_EP})`, server === NLB_VIP || server === TARGET_EP, server ?? 'none');
  }
  if (s.expectResetBy === 'nlb' && mirror !== 'target') check(`analyze: RST sent by the NLB ${NLB_VIP}`, v?.resetBy === NLB_VIP, v?.resetBy ?? 'null');
  if (s.expectResetBy === 'target' && s.expectKind !== 'target-connection-refused') {
    check(`analyze: RST sent by the target side (${TARGET_EP} or through the NLB ${NLB_VIP})`, v?.resetBy === TARGET_EP || v?.resetBy === NLB_VIP, v?.resetBy ?? 'null');
  }
  if (s.expectKind === 'idle-timeout-reset') check(`analyze: idle ≥ ${s.nlbIdleSeconds} s`, (v?.idleSeconds ?? 0) >= s.nlbIdleSeconds, String(v?.idleSeconds));
  return out;
}
