/**
 * Live = batch, on a lab run: the findings `listen --analyze-json` printed for a mirror set's
 * collector against those of batch `analyze` on the capture that collector wrote, with the same
 * key log (no access or flow logs: live has none). The same finding means the same cause, status
 * and request; each must have been printed once, and soon after the last packet it cites.
 */
import { join } from 'node:path';
import { analyze } from '../../src/analyze/analyze.js';
import type { Finding } from '../../src/diagnose/finding.js';
import type { LabResult } from '../../src/lab/result.js';
import type { MirrorSet } from '../../src/lab/topology.js';

function key(f: { kind: string; status: number | null; request: { path: string | null } | null }): string {
  return `${f.kind} ${f.status ?? '-'} ${f.request?.path ?? '-'}`;
}

/** The latest packet a finding cites (its timeline; notes and the log line aside). */
function lastPacket(f: { timeline: { marks: { time: string | number; kind: string }[] } }): number {
  let t = -Infinity;
  for (const m of f.timeline.marks) {
    if (m.kind === 'idle' || m.kind === 'note' || m.kind === 'log') continue;
    const v = typeof m.time === 'number' ? m.time : Date.parse(m.time) / 1000;
    if (v > t) t = v;
  }
  return t;
}

export interface LiveComparison {
  live: string[];
  batch: string[];
  /** Seconds from the last packet each live finding cites to its printing. */
  delays: number[];
}

export async function compareLive(r: LabResult, set: MirrorSet): Promise<LiveComparison> {
  const live = r.live?.[set] ?? [];
  const { report } = await analyze({ captures: r.mirrorCaptures[set] ?? [], keylogs: [join(r.outDir, 'keys.log')] });
  return {
    live: live.map((x) => key(x.finding as Finding)).sort(),
    batch: report.findings.map(key).sort(),
    delays: live.map((x) => x.printedAt - lastPacket(x.finding as never)),
  };
}

/** The bound checked on `delays` (the target is about a second; a loaded CI machine gets slack). */
export const LIVE_DELAY_BOUND_SECONDS = 2.5;
