/**
 * Garbage-collector settings for the mirrorlens process (applied by bin/mirrorlens.js, not by the
 * library: an application embedding mirrorlens keeps its own settings).
 *
 * Why: the pipeline's garbage is short-lived (per packet, per record, per transaction) and its
 * live state is small (connections, pending transactions, kept errors). V8's defaults size the
 * heap for the opposite: the young generation grows to 2 x 16 MiB and the old generation is let
 * grow to a multiple of the live size before it is collected, so a 20 MiB live set peaked at
 * ~140 MiB of RSS on the lab's load capture. With the young generation kept at its initial size
 * and the old generation collected when it is 20 % over the live size, the same run peaks at
 * ~85 MiB for about the same CPU (docs/performance.md, "analyze": how it was measured).
 *
 * Both flags are read by V8 at every collection, so setting them at start-up takes effect. They
 * are left alone when the user sets heap flags of their own (NODE_OPTIONS or node's arguments).
 */
import { setFlagsFromString } from 'node:v8';

export const GC_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=20'] as const;

/** Applies GC_FLAGS unless heap flags were given; returns whether it did. */
export function tuneGarbageCollector(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const own = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /semi[-_]space|heap[-_]growing|old[-_]space/.test(a));
  if (own) return false;
  for (const f of GC_FLAGS) setFlagsFromString(f);
  return true;
}
