/**
 * Live analysis replayed on a capture: the frames fed one by one into LiveAnalyzer as
 * `listen --analyze` would, its clock following the packets' own times and ticking every half
 * second in between (deterministic, at any machine load). Key-log lines are given to the key log
 * as soon as the replay reaches the time they were logged... or, as here, at the start (the
 * capture's Decryption Secrets Blocks carry them first too).
 */
import { readFileSync } from 'node:fs';
import { readCapture } from '../../src/capture/reader.js';
import { LiveAnalyzer } from '../../src/analyze/live.js';
import type { Finding } from '../../src/diagnose/finding.js';

export interface LiveReplayed {
  finding: Finding;
  /** Capture time at which it was reported. */
  at: number;
}

/**
 * `keysAfter`: give the key log only this many seconds after the first frame (a key log written
 * while the listener already runs: decryption waits for it); default at the start.
 */
export async function replayLive(captures: string[], keylogs: string[] = [], opts: { tail?: number; keysAfter?: number } = {}): Promise<LiveReplayed[]> {
  const frames: { t: number; link: number; sec: number; nsec: number; data: Uint8Array; orig: number }[] = [];
  for (const f of captures) {
    await readCapture(f, (rec) => {
      frames.push({ t: rec.time, link: rec.linkType, sec: rec.tsSec, nsec: rec.tsNsec, data: rec.data.slice(rec.offset, rec.offset + rec.capturedLength), orig: rec.originalLength });
    });
  }
  frames.sort((a, b) => a.t - b.t);
  let now = frames[0]?.t ?? 0;
  const out: LiveReplayed[] = [];
  const live = new LiveAnalyzer({ now: () => now, onFinding: (finding) => out.push({ finding, at: now }) });
  const start = now;
  let keysGiven = false;
  const giveKeys = () => {
    if (keysGiven) return;
    keysGiven = true;
    for (const k of keylogs) live.keys.addText(readFileSync(k, 'utf8'), k);
  };
  if (!opts.keysAfter) giveKeys();
  for (const fr of frames) {
    while (now + 0.5 <= fr.t) {
      now += 0.5;
      if (opts.keysAfter && now - start >= opts.keysAfter) giveKeys();
      live.tick();
    }
    if (opts.keysAfter && fr.t - start >= opts.keysAfter) giveKeys();
    now = fr.t;
    live.frame(fr.link, fr.sec, fr.nsec, fr.data, 0, fr.data.length, fr.orig, '');
  }
  // After the last packet: the listener keeps ticking until it is stopped.
  const end = now + (opts.tail ?? 6);
  while (now + 0.5 <= end) {
    now += 0.5;
    if (opts.keysAfter && now - start >= opts.keysAfter) giveKeys();
    live.tick();
  }
  live.stop();
  return out;
}
