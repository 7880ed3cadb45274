/**
 * The native analysis addon (native/analyze/, an N-API addon built at install time beside the
 * receive engines by scripts/build-native.mjs): the first pass of a targeted analysis and the ALB
 * log quick scan, in C. Each of its functions is a faster path for JavaScript that stays the
 * reference, with the same results (differential tests); when the addon was not built, is stale,
 * or MIRRORLENS_NO_NATIVE=1, `loadAnalyzeNative()` says why and the JavaScript runs.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The addon's functions: each part adds its own (native/analyze/ml.h), typed by its JavaScript wrapper. */
export interface AnalyzeAddon {
  version: number;
  /** The hash of the native/analyze/ sources it was built from (scripts/native-hash.mjs). */
  sourceHash: string;
  [fn: string]: unknown;
}

/** The hash scripts/native-hash.mjs computes over a directory's .c and .h files (names and contents, in name order). */
export function analyzeSourceHash(dir: string): string {
  const h = createHash('sha256');
  for (const n of readdirSync(dir).filter((x) => /\.(c|h)$/.test(x)).sort()) {
    h.update(n);
    h.update('\0');
    h.update(readFileSync(join(dir, n)));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

const REBUILD = 'run npm rebuild, or node scripts/build-native.mjs; needs a C compiler and Linux';

/** Loads the addon at `addonPath` if it was built from the sources in `sourceDir` as they are now; else null with the reason. */
export function loadAnalyzeAddon(addonPath: string, sourceDir: string): { addon: AnalyzeAddon | null; why: string } {
  let addon: AnalyzeAddon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as AnalyzeAddon;
  } catch (e) {
    const first = (e as Error).message.split('\n')[0] ?? '';
    return { addon: null, why: /Cannot find module/.test(first) ? `the native analysis addon was not built (${REBUILD})` : `the native analysis addon does not load: ${first}` };
  }
  let want: string;
  try {
    want = analyzeSourceHash(sourceDir);
  } catch {
    return { addon: null, why: `the native analysis addon cannot be checked against its sources (${sourceDir} is missing; ${REBUILD})` };
  }
  if (addon.sourceHash !== want) {
    return { addon: null, why: `the native analysis addon is stale: built from sources ${String(addon.sourceHash)}, they are now ${want} (${REBUILD})` };
  }
  return { addon, why: 'built at install' };
}

let cached: { addon: AnalyzeAddon | null; why: string } | null = null;

/** The addon, or null with the reason it is not there. Loaded once; MIRRORLENS_NO_NATIVE=1 turns it off. */
export function loadAnalyzeNative(): { addon: AnalyzeAddon | null; why: string } {
  if (cached) return cached;
  if (process.env.MIRRORLENS_NO_NATIVE === '1') return (cached = { addon: null, why: 'MIRRORLENS_NO_NATIVE=1' });
  const root = new URL('../../', import.meta.url);
  const at = (p: string): string => new URL(p, root).pathname;
  return (cached = loadAnalyzeAddon(at('build/Release/mirrorlens_analyze.node'), at('native/analyze')));
}
