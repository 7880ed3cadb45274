/**
 * The check that a targeted analysis (targeted.ts) gives the full analysis's answers: the same
 * findings, the same connections and transactions cited, the same scans and log summary. Run by
 * the tests on every capture they analyse (MIRRORLENS_DIFFERENTIAL=1 makes `analyze` run both and
 * fail with an internal error on any difference; scripts/run-tests.mjs sets it) and by
 * test/analyze/targeted.test.ts on the lab's and the corpus's captures.
 */
import type { Report } from './model.js';

/** The parts of a report both modes must give alike (everything but the statistics). */
export function comparable(r: Report): unknown {
  const { stats: _stats, ...rest } = r;
  return rest;
}

/** The first difference between two reports' comparable parts, with some context; null when alike. */
export function reportDifference(full: Report, targeted: Report): string | null {
  const a = JSON.stringify(comparable(full));
  const b = JSON.stringify(comparable(targeted));
  if (a === b) return null;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 160);
  return `full: …${a.slice(from, i + 160)}… targeted: …${b.slice(from, i + 160)}…`;
}

/** Whether analyze checks each targeted analysis against the full one (the test suite sets it). */
export function differentialChecks(): boolean {
  return process.env.MIRRORLENS_DIFFERENTIAL === '1';
}
