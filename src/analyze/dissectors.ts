/**
 * The TLS and HTTP stages of the analysis session, loaded only when a connection is dissected.
 * A targeted analysis that finds nothing to read (the common case: a busy capture whose requests
 * all succeeded) never needs them, and loading their code (HTTP/1, HTTP/2 with HPACK, the TLS
 * key schedule and record layer) was a measurable part of such a run's start-up
 * (docs/performance.md, "analyze (targeted): where the time goes").
 *
 * Whoever feeds connections to an AnalysisSession's sinks awaits `loadDissectors()` first (the
 * full pipeline, the targeted second pass); live analysis provides them statically (live.ts).
 */
import type { createHttpSink } from '../http/session.js';
import type { appSinkFactory } from '../tls/sniff.js';

export interface Dissectors {
  createHttpSink: typeof createHttpSink;
  appSinkFactory: typeof appSinkFactory;
}

let loaded: Dissectors | null = null;

/** Makes the stages available to every session (a static importer's way: live analysis, tests). */
export function provideDissectors(d: Dissectors): void {
  loaded = d;
}

/** Loads the TLS and HTTP stages (once). */
export async function loadDissectors(): Promise<Dissectors> {
  if (loaded !== null) return loaded;
  const [http, tls] = await Promise.all([import('../http/session.js'), import('../tls/sniff.js')]);
  loaded = { createHttpSink: http.createHttpSink, appSinkFactory: tls.appSinkFactory };
  return loaded;
}

/** Whether the stages are loaded (tests: a run with nothing to dissect leaves them unloaded). */
export function dissectorsLoaded(): boolean {
  return loaded !== null;
}

/** The loaded stages; a session asked to dissect before they were loaded is a programming error. */
export function dissectors(): Dissectors {
  if (loaded === null) throw new Error('internal: the TLS and HTTP stages were not loaded (await loadDissectors() before feeding a session)');
  return loaded;
}
