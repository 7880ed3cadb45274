/**
 * JSON renderer: the report as one JSON document, times as ISO-8601 strings (UTC, microseconds).
 * Every key named `time` or ending in `Time` holding seconds since the epoch is converted.
 */
import type { Finding } from '../diagnose/finding.js';
import { safeJson } from './escape.js';
import type { Report } from '../analyze/model.js';
import { isoMs } from '../capture/time-text.js';

/** ISO-8601 with microseconds; a time no date can hold (a corrupt capture's) as its number of seconds. */
export function isoTime(seconds: number): string {
  const ms = Math.floor(seconds * 1000);
  const iso = isoMs(ms); // 2026-11-25T20:25:53.123Z
  if (iso === null) return String(seconds);
  const micros = Math.round((seconds * 1000 - ms) * 1000);
  const frac = Math.min(999, Math.max(0, micros));
  return `${iso.slice(0, 23)}${String(frac).padStart(3, '0')}Z`;
}

function convert(value: unknown, key: string): unknown {
  if (typeof value === 'number') {
    if ((key === 'time' || key.endsWith('Time')) && Number.isFinite(value)) return isoTime(value);
    if (!Number.isFinite(value)) return null;
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => convert(v, ''));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = convert(v, k);
    return out;
  }
  return value;
}

/** The report as JSON-ready data (times converted). */
export function reportToJson(report: Report): unknown {
  return convert(report, '');
}

export function renderJson(report: Report): string {
  return `${safeJson(reportToJson(report), 2)}\n`;
}

/** One finding as JSON-ready data (times converted), e.g. for JSON lines. */
export function findingToJson(f: Finding): unknown {
  return convert(f, '');
}

/** One finding with its connections, as the evidence exporter writes it next to the finding's pcapng. */
export function renderFindingEvidence(report: Report, f: Finding): string {
  const json = reportToJson({ ...report, findings: [f], connections: report.connections.filter((c) => f.connectionUids.includes(c.uid)), transactions: [] }) as { findings: unknown[]; connections: unknown[] };
  return `${JSON.stringify({ schemaVersion: report.schemaVersion, finding: json.findings[0], connections: json.connections }, null, 2)}\n`;
}
