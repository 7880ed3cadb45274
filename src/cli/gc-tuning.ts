/**
 * Garbage-collector settings for the mirrorlens process (applied by bin/mirrorlens.js, not by the
 * library: an application embedding mirrorlens keeps its own settings).
 *
 * Why: the pipeline's garbage is short-lived (per packet, per record, per transaction) and its
 * live state is usually small (connections, pending transactions, kept errors). V8's defaults size
 * the heap for the opposite: the young generation grows to 2 x 16 MiB and the old generation is let
 * grow to a multiple of the live size before it is collected, so a 20 MiB live set peaked at
 * ~120-140 MiB of RSS on the lab's load capture. With the young generation kept at its initial
 * size and the old generation collected when it is 20 % over the live size, the same run peaks at
 * ~80 MiB, for about 5-11 % more CPU (more frequent collections of a smaller heap;
 * docs/performance.md, "analyze": how it was measured).
 *
 * With a large live state (a million tracked connections: 860 MiB) the same settings cost ~10-15 %
 * more CPU and save nothing in proportion, so once the heap holds more than LARGE_HEAP_BYTES the
 * V8 defaults are put back (checked once a second, off the event loop's ref count).
 *
 * The flags are read by V8 at every collection, so setting them at run time takes effect. They are
 * left alone when the user sets heap flags of their own (NODE_OPTIONS or node's arguments).
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

export const GC_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=20'] as const;
/** V8's own values of the same flags (V8 11, Node 20). */
const GC_DEFAULT_FLAGS = ['--semi-space-growth-factor=2', '--heap-growing-percent=0'] as const;
/** Above this much live heap the small-heap settings are undone. */
const LARGE_HEAP_BYTES = 256 * 1024 * 1024;

export type GcTuningState = 'off' | 'small-heap' | 'defaults-restored';
let state: GcTuningState = 'off';

/** What the tuning did: not applied, applied, or applied and then undone for a large heap. */
export function gcTuningState(): GcTuningState {
  return state;
}

/** Applies GC_FLAGS unless heap flags were given; returns whether it did. */
export function tuneGarbageCollector(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
  largeHeapBytes = LARGE_HEAP_BYTES,
): boolean {
  const own = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /semi[-_]space|heap[-_]growing|old[-_]space/.test(a));
  if (own) return false;
  for (const f of GC_FLAGS) setFlagsFromString(f);
  state = 'small-heap';
  const watch = setInterval(() => {
    if (getHeapStatistics().used_heap_size <= largeHeapBytes) return;
    for (const f of GC_DEFAULT_FLAGS) setFlagsFromString(f);
    state = 'defaults-restored';
    clearInterval(watch);
  }, 1000);
  watch.unref();
  return true;
}
