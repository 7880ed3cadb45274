/**
 * What a lab run records (result.json): what the client got, each check, the verdict analyze gave.
 * The runner, the checks and the verdict reader all speak these types; none of them imports another
 * for them.
 */

/** One curl request as the client saw it. */
export interface ClientResult {
  path: string;
  status: number;
  httpVersion: string;
  startTime: number;
  endTime: number;
  error?: string;
}

/** One fact checked, or one verdict check. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** The finding analyze gave for the scenario's failing request. */
export interface Verdict {
  kind: string | null;
  status: number | null;
  path: string | null;
  resetBy: string | null;
  idleSeconds: number | null;
  summary: string;
}

/** One run, as written to result.json. */
export interface LabResult {
  scenario: string;
  ok: boolean;
  outDir: string;
  captureMode: 'listen' | 'tcpdump';
  captureFiles: string[];
  /** The NLB's NAT mode and the mirror set analyze.json was made from. */
  nat: 'preserve' | 'snat';
  mirror: 'lb' | 'target' | 'all';
  /** Each mirror set's capture files (`all` = captureFiles). */
  mirrorCaptures: Partial<Record<'lb' | 'target' | 'all', string[]>>;
  /** With live collectors: each set's findings as `listen --analyze-json` printed them, with when. */
  live?: Partial<Record<'lb' | 'target' | 'all', { printedAt: number; finding: unknown }[]>>;
  checks: CheckResult[];
  client: ClientResult[];
  load?: unknown;
  verdict?: Verdict | null;
  /** `skipped`: the run was asked not to analyze; `not-built` is no longer given (analyze always is). */
  analyzeStatus: 'ran' | 'not-built' | 'skipped' | 'failed';
  /** The collector's own account when it stopped (`listen: stopped by ...`: datagrams, drops, kernel drops), to tell a lost mirrored packet from a wrong fact. */
  listenSummary?: string;
  durationSeconds: number;
}
