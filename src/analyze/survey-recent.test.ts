// The targeted replay's recently-ended connections (survey-recent.ts) against the Correlator's
// default (correlate/recent.ts MapRecent), which holds the views themselves: the same answers for
// the same random mix of adds (plain survey views, views with something joined, other views),
// deletes, evictions and prunes, across ring compactions and growth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapRecent, type RecentConns } from '../correlate/recent.js';
import type { ConnView } from '../correlate/views.js';
import { SurveyRecords, type SurveyRowSource } from '../flow/survey-records.js';
import { rowSource } from '../../test/survey-rows.js';
import { uidOfWords } from '../flow/identity.js';
import { SurveyRecent } from './survey-recent.js';
import { surveyConnView } from './survey-views.js';

function source(i: number): SurveyRowSource {
  return rowSource(i, {
    // (Some uids not in connectionUid's form: rowOf finds those by text.)
    uid: i % 50 === 7 ? `odd-${i}` : uidOfWords(i * 2654435761, i + 1, ~i),
    startTime: 1000 + i * 0.01,
    lastTime: 1000 + i * 0.01 + (i % 13),
  });
}

/** A xorshift32 generator (the test is the same at every run). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** What a store answers for a uid: the view's uid and end time, or null. */
const seen = (s: RecentConns, uid: string): [string, number] | null => {
  const v = s.get(uid);
  return v === undefined ? null : [v.uid, v.endTime];
};

test('survey recent connections answer as the views held themselves would', () => {
  const n = 6000;
  const r = new SurveyRecords();
  for (let i = 0; i < n; i++) r.add(source(i), -1);
  const rand = rng(0x9e3779b9);
  const model = new MapRecent();
  const rows = new SurveyRecent(r);
  const uids: string[] = [];
  let now = 1000;
  let evicted = 0;
  for (let step = 0; step < 40_000; step++) {
    const k = rand();
    const row = Math.floor(rand() * n);
    const uid = r.uid(row);
    if (k < 0.55) {
      const v: ConnView = surveyConnView(r, row);
      if (k < 0.05) v.icmpError = { time: 1, from: '10.0.0.9', type: 3, code: 1 };
      else if (k < 0.08) {
        // (A dissected connection's view: not a survey view, the same uid.)
        const copy = { ...v, uid, endTime: v.endTime + 1 } as unknown as ConnView;
        model.add(copy);
        rows.add(copy);
        uids.push(uid);
        continue;
      }
      model.add(v);
      rows.add(v);
      uids.push(uid);
      now = Math.max(now, v.endTime);
    } else if (k < 0.7) {
      const u = uids[Math.floor(rand() * uids.length)] ?? uid;
      model.delete(u);
      rows.delete(u);
    } else if (k < 0.97) {
      const max = rand() < 0.1 ? Math.floor(rand() * 50) : 20_000;
      const before = now - rand() * 40;
      const was = model.size;
      model.evict(before, max);
      rows.evict(before, max);
      evicted += was - model.size;
    } else {
      const t = now - rand() * 60;
      model.dropEndedBefore(t);
      rows.dropEndedBefore(t);
    }
    assert.equal(rows.size, model.size, `size at step ${step}`);
    if (step % 7 === 0) for (let j = 0; j < 5; j++) {
      const u = uids[Math.floor(rand() * uids.length)] ?? uid;
      assert.deepEqual(seen(rows, u), seen(model, u), `${u} at step ${step}`);
    }
  }
  assert.ok(evicted > 1000, `evicted ${evicted}`);
  // A view with something joined to it comes back as itself.
  const v = surveyConnView(r, 3);
  v.icmpError = { time: 2, from: '10.0.0.9', type: 3, code: 3 };
  rows.add(v);
  assert.equal(rows.get(v.uid), v);
});
