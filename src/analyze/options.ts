/**
 * What an analysis takes (inputs, options) and what it hands on beyond the report (the context the
 * evidence exporter needs).
 */
import type { Incident } from '../capture/incident.js';
import type { ConnView } from '../correlate/views.js';
import type { PipelineOptions } from '../flow/pipeline.js';
import type { Recorder } from '../store/recorder.js';

export const GENERATOR = 'mirrorlens 0.1.0';

/**
 * Silences longer than this are recorded on each connection (flow stage idle gaps): the path
 * model reads them to tell how long a target-side connection had been idle when a request it
 * never got was answered (hops' idle timeouts run from seconds in tests to 350 s and more).
 */
export const ANALYZE_IDLE_GAP_SECONDS = 1;

export interface AnalyzeInputs {
  captures: string[];
  keylogs?: string[];
  albLogs?: string[];
  nlbLogs?: string[];
  flowLogs?: string[];
}

export interface AnalyzeOptions {
  /** Include every connection and transaction in the report (memory then grows with the input). */
  all?: boolean;
  /**
   * Which connections are read through TLS and HTTP. 'auto' (default): only those a finding can
   * need (targeted.ts) when an ALB/CLB access log says which requests failed, every connection
   * otherwise; 'needed': only those a finding can need even without one (then every client-side
   * connection is read); 'all': every connection (the full pipeline, as --all and --store).
   */
  dissect?: 'auto' | 'needed' | 'all';
  flow?: PipelineOptions;
  maxSkewSeconds?: number;
  /** Called now and then while captures are read (for a progress bar). */
  onProgress?(p: { file: string; packets: number }): void;
  /**
   * Keep the key-log texts (files and embedded blocks) for the evidence exporter. Off by default:
   * a long capture can embed its keys many times over, and memory must not grow with it.
   */
  keepKeyLogTexts?: boolean;
  /** Non-fatal problems (bad key-log lines, bad log lines, capture warnings). */
  onWarning?(message: string): void;
  /** Records every connection, transaction, TLS session, finding and log line that matters into a store. */
  recorder?: Recorder | null;
  /** Explain only this incident (time window, client, trace id); see analyze/incident.ts. */
  incident?: Incident | null;
}

/** What the evidence exporter needs beyond the report. */
export interface AnalysisContext {
  /** Client randoms (hex) each kept TLS connection used, by connection uid. */
  clientRandomsByUid: Map<string, string[]>;
  /** Raw key-log text sources (files and DSBs), to extract only the lines a finding needs (empty unless keepKeyLogTexts). */
  keyLogTexts: string[];
  connections: Map<string, ConnView>;
}
