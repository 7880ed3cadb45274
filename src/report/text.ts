/**
 * Text renderer: one block per finding with a compact timeline, then a summary table.
 * Every captured string goes through escapeText.
 */
import type { Finding, TimelineMark } from '../diagnose/finding.js';
import { formatSeconds } from '../diagnose/timeouts.js';
import { escapeText as e } from './escape.js';
import { isoTime } from './json.js';
import type { Report, ReportDissection } from '../analyze/model.js';

export interface TextOptions {
  color?: boolean;
  /** Print at most this many findings in full (the summary counts all). */
  maxFindings?: number;
}

const KIND_COLOR: Record<string, string> = { error: '\x1b[31m', warning: '\x1b[33m', info: '\x1b[36m' };

function clock(t: number): string {
  const iso = isoTime(t);
  return iso.endsWith('Z') ? iso.slice(11, 23) : iso;
}

function markLine(m: TimelineMark, t0: number, legs: Finding['timeline']['legs'], width: number): string {
  const leg = legs[m.leg];
  const arrow = m.dir === 0 ? '──▶' : m.dir === 1 ? '◀──' : ' • ';
  const legName = m.dir === -1 ? '' : leg ? leg.name : '';
  const rel = `+${(m.time - t0).toFixed(3)} s`.padStart(12);
  return `    ${clock(m.time)} ${rel}  ${legName.padEnd(width)} ${arrow} ${e(m.label)}`;
}

const ROLE_NAMES: Record<string, string> = { client: 'client ↔ LB', lb: 'LB → hop/target', target: 'hop → target' };

export function renderFinding(f: Finding, index: number, opts: TextOptions = {}): string {
  const c = opts.color ? KIND_COLOR[f.severity] ?? '' : '';
  const r = opts.color ? '\x1b[0m' : '';
  const b = opts.color ? '\x1b[1m' : '';
  const lines: string[] = [];
  const status = f.status !== null ? ` ${f.status}` : '';
  lines.push(`${b}#${index + 1} ${c}${f.kind}${r}${b}${status}${r}  (${f.severity}, ${f.confidence} confidence)`);
  if (f.request) {
    const when = f.request.time !== null ? ` at ${isoTime(f.request.time)}` : '';
    lines.push(`  request: ${e(f.request.method ?? '?')} ${e(f.request.path ?? '?')}${when}${f.client ? `  client ${e(f.client)}` : ''}`);
  } else if (f.client) {
    lines.push(`  client: ${e(f.client)}`);
  }
  lines.push(`  ${e(f.summary)}`);
  if (f.targetConnection) {
    const t = f.targetConnection;
    lines.push(`  target connection ${e(t.uid)}: ${e(t.client)} -> ${e(t.server)}${f.resetBy ? `, RST sent by ${e(f.resetBy)}` : ''}`);
  }
  if (f.idleSeconds !== null) {
    const fits = f.timeoutFits.map((x) => `${x.name} (${x.seconds} s${x.relation === 'within-range' ? ', configurable' : ''})`);
    lines.push(`  idle before the request: ${formatSeconds(f.idleSeconds)}${fits.length ? `; fits: ${fits.join('; ')}` : ''}`);
  }
  if (f.occurrences !== null && f.legs.every((l) => !l.seen)) {
    lines.push('  legs: none captured (logs only)');
  } else if (f.legs.length) {
    lines.push('  legs:');
    for (const l of f.legs) {
      const where = l.seen ? `${e(l.client ?? '?')} -> ${e(l.server ?? '?')}${l.capturePoints.length ? ` at ${l.capturePoints.map(e).join(', ')}` : ''}` : 'not seen';
      const join = l.joinedBy ? `; joined by ${e(l.joinedBy.key)} (${l.joinedBy.confidence}: ${e(l.joinedBy.detail)})` : '';
      lines.push(`    ${(ROLE_NAMES[l.role] ?? l.role).padEnd(16)} ${where}${join}${l.note ? ` — ${e(l.note)}` : ''}`);
    }
  }
  const marks = [...f.timeline.marks].sort((a, b2) => a.time - b2.time);
  const width = Math.max(14, ...f.timeline.legs.map((l) => l.name.length));
  if (marks.length) {
    lines.push('  timeline:');
    const t0 = marks[0]!.time;
    let prev = t0;
    let idleShown = false;
    for (const m of marks) {
      if (m.kind === 'idle') {
        lines.push(`    ${' '.repeat(27)}  ${''.padEnd(width)} ┆ ${e(m.label)}`);
        idleShown = true;
        continue;
      }
      if (m.time - prev > 5 && !idleShown) lines.push(`    ${' '.repeat(27)}  ${''.padEnd(width)} ┆ … ${formatSeconds(m.time - prev)} …`);
      lines.push(markLine(m, t0, f.timeline.legs, width));
      prev = m.time;
      idleShown = false;
    }
  }
  if (f.evidence.length) {
    lines.push('  evidence:');
    for (const ev of f.evidence) lines.push(`    ${ev.time !== null ? clock(ev.time) : '            '}  ${ev.source.padEnd(8)} ${e(ev.text)}`);
  }
  for (const w of f.causes) lines.push(`  why (AWS): ${e(w.aws)} — ${e(w.source)}`);
  if (f.candidates.length) {
    lines.push(`  ${f.kind === 'undecided' ? 'the log fits these documented causes and cannot tell them apart' : 'the log line fits these documented causes'}:`);
    f.candidates.forEach((w, i) => lines.push(`    ${i + 1}. ${e(w.title)}: ${e(w.aws)} — ${e(w.source)}`));
  }
  if (f.missing.length) lines.push(`  missing evidence: ${f.missing.map(e).join('; ')}`);
  if (f.advice.length) {
    lines.push('  fix:');
    for (const a of f.advice) lines.push(`    - ${e(a)}`);
  }
  const n = f.captureNext;
  if (n) {
    lines.push('  capture next, to settle it:');
    lines.push(`    mirror ${e(n.where)}`);
    lines.push(`    for ${e(n.duration)}`);
    for (const a of n.also) lines.push(`    also ${e(a)}`);
    for (const c of n.commands) lines.push(`    ${e(c)}`);
    lines.push(`    ${e(n.filterFile)}:`);
    for (const y of n.filterYaml.trimEnd().split('\n')) lines.push(`      ${e(y)}`);
  }
  return lines.join('\n');
}

export function renderText(report: Report, opts: TextOptions = {}): string {
  const out: string[] = [];
  const max = opts.maxFindings ?? 50;
  const fs = report.findings;
  const logsOnly = report.inputs.captures.length === 0 && report.stats.packets === 0;
  if (logsOnly && report.logs.records > 0) {
    const lines = fs.reduce((a, f) => a + (f.occurrences?.count ?? 1), 0);
    out.push(`Logs only (no capture given): ${String(lines).replace(/\B(?=(\d{3})+(?!\d))/g, ' ')} error line${lines === 1 ? '' : 's'} in ${fs.length} incident${fs.length === 1 ? '' : 's'}; each says what the log proves, what it cannot tell apart and what to capture next.`, '');
  }
  if (fs.length === 0) {
    out.push('No load-balancer errors found to explain.');
  }
  fs.slice(0, max).forEach((f, i) => {
    out.push(renderFinding(f, i, opts));
    out.push('');
  });
  if (fs.length > max) out.push(`(${fs.length - max} more findings; use --format json for all)`, '');
  if (report.scans.length) {
    out.push('Connection attempts never answered');
    for (const x of report.scans) out.push(`  ${e(x.summary)}`);
    out.push('');
  }
  // Summary table.
  const byKind = new Map<string, { count: number; statuses: Set<string> }>();
  for (const f of fs) {
    const k = byKind.get(f.kind) ?? { count: 0, statuses: new Set<string>() };
    k.count++;
    if (f.status !== null) k.statuses.add(String(f.status));
    byKind.set(f.kind, k);
  }
  if (byKind.size) {
    out.push('Summary');
    const w = Math.max(4, ...[...byKind.keys()].map((k) => k.length));
    out.push(`  ${'kind'.padEnd(w)}  count  status`);
    for (const [k, v] of [...byKind.entries()].sort((a, b) => b[1].count - a[1].count)) {
      out.push(`  ${k.padEnd(w)}  ${String(v.count).padStart(5)}  ${[...v.statuses].join(',')}`);
    }
  }
  const s = report.stats;
  out.push(
    `Read ${s.packets} packets in ${s.captures} capture(s): ${s.tcpConnections} TCP connections, ${s.tlsSessions} TLS sessions (${s.tlsDecrypted} decrypted), ${s.httpTransactions} HTTP transactions; ${report.logs.records} log records (${report.logs.badLines} bad lines).`,
  );
  const d = s.dissection;
  if (d !== undefined) out.push(dissectionLine(d));
  for (const w of s.warnings) out.push(`warning: ${e(w)}`);
  return `${out.join('\n')}\n`;
}

/** Which connections were read through TLS and HTTP, and why (the report's stats.dissection). */
export function dissectionLine(d: ReportDissection): string {
  if (d.mode === 'full') return `Read every connection through TLS and HTTP${d.reason ? ` (${e(d.reason)})` : ''}${d.fallback ? `: ${e(d.fallback)}` : ''}.`;
  const why = Object.entries(d.byReason ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${e(k)} ${n}`)
    .join(', ');
  const rest = d.dissected < d.connections ? "; the others' TCP only; --full reads them all" : '';
  return `Read ${d.dissected} of ${d.connections} connections through TLS and HTTP (targeted${why ? `: ${why}` : ''}${rest}).`;
}
