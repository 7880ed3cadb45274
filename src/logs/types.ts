/**
 * Shared types of the logs stage: what every parser returns and what `readLogs` reports.
 */

/** The formats mirrorlens reads; `--format` takes these names. */
export const LOG_FORMATS = ['alb', 'alb-conn', 'nlb', 'clb', 'flow'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_FORMAT_NAMES: Record<LogFormat, string> = {
  alb: 'ALB access log',
  'alb-conn': 'ALB connection log',
  nlb: 'NLB (TLS) access log',
  clb: 'Classic Load Balancer access log',
  flow: 'VPC flow log',
};

/** A line that could not be parsed: why, and (when known) at which 1-based column. */
export interface LineError {
  kind: 'error';
  reason: string;
  column?: number;
}

export function lineError(reason: string, column?: number): LineError {
  return column === undefined ? { kind: 'error', reason } : { kind: 'error', reason, column };
}

export function isLineError(r: { kind: string }): r is LineError {
  return r.kind === 'error';
}

/** Where a record came from; readLogs fills these in (parsers called directly leave '' and 0). */
export interface RecordSource {
  /** The file as the user named it (for files found in a directory: that path), `-` for stdin. */
  file: string;
  /** 1-based line number within the (decompressed) file. */
  line: number;
}

/** A bad line as reported to `onBadLine`. */
export interface BadLine {
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (unreadable, truncated .gz). */
  line: number;
  reason: string;
}
