// The survey (first pass of a targeted analysis) against the FlowTable on every capture of the test
// fixtures (and the public corpus when MIRRORLENS_CORPUS names its directory): the same
// connections ending in the same order with the same uids, start and end times, ISNs, handshake
// times and byte counts; and for the connections it calls simple, the same close, FINs, silences
// and marks as the FlowTable's records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { processCaptures } from '../../src/flow/pipeline.js';
import { COMPLEX_NAMES, FlowSurvey } from '../../src/flow/survey.js';
import type { SurveyRecords } from '../../src/flow/survey-records.js';
import type { ConnectionRecord } from '../../src/flow/record.js';
import type { FlowOptions } from '../../src/flow/options.js';
import { captures } from '../captures.js';

const ROOT = join(import.meta.dirname, '../..');

async function both(file: string, flow: FlowOptions): Promise<{ recs: ConnectionRecord[]; survey: SurveyRecords; ended: number[] }> {
  const recs: ConnectionRecord[] = [];
  await processCaptures([file], { onConnectionStart: () => null, onConnectionEnd: (r) => recs.push(r) }, flow);
  const ended: number[] = [];
  const s = new FlowSurvey((c, row) => ended.push(c.endOrder === row ? row : -1), flow);
  await processCaptures([file], {}, { ...flow, tracker: s, beforeDecode: (rec, n, i) => (s.at(n, i, rec.byteOffset), true) });
  return { recs, survey: s.records, ended };
}

function why(s: SurveyRecords, i: number): string {
  return Object.entries(COMPLEX_NAMES)
    .filter(([bit]) => (s.complex(i) & Number(bit)) !== 0)
    .map(([, n]) => n)
    .join(',');
}

/** Differences between a record and the survey's row `i` ('' when none). */
export function surveyDiff(r: ConnectionRecord, s: SurveyRecords, i: number): string {
  const d: string[] = [];
  const eq = (name: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b)) d.push(`${name}: table ${JSON.stringify(a)} survey ${JSON.stringify(b)}`);
  };
  eq('uid', r.uid, s.uid(i));
  eq('endCause', r.endCause, s.endCause(i));
  eq('client', `${r.clientAddr}:${r.clientPort}`, `${s.clientAddr(i)}:${s.clientPort(i)}`);
  eq('server', `${r.serverAddr}:${r.serverPort}`, `${s.serverAddr(i)}:${s.serverPort(i)}`);
  eq('capturePoint', r.capturePoint, s.capturePoint(i));
  eq('startTime', r.startTime, s.startTime(i));
  eq('endTime', r.endTime, s.endTime(i));
  eq('isn', [r.clientIsn, r.serverIsn], [s.isn(i, 0), s.isn(i, 1)]);
  eq('synTimes', r.synTimes, s.synTimes(i));
  eq('synAckTime', r.synAckTime, Number.isNaN(s.synAckTime(i)) ? null : s.synAckTime(i));
  eq('midstream', r.midstream, s.midstream(i));
  eq('refused', r.refused, s.refused(i));
  eq('packets', [r.packetsFromClient, r.packetsFromServer], [s.packets(i, 0), s.packets(i, 1)]);
  eq('payloadBytes', [r.payloadBytesFromClient, r.payloadBytesFromServer], [s.payloadBytes(i, 0), s.payloadBytes(i, 1)]);
  eq('maxIdleSeconds', r.maxIdleSeconds, s.maxIdle(i));
  eq('idleGaps', r.idleGaps.slice(0, 100), s.idleGapList(i));
  if (s.complex(i) === 0) {
    const closedBy = s.closedBy(i);
    eq('closedBy', r.closedBy, closedBy < 0 ? null : closedBy === 0 ? 'client' : 'server');
    eq('closeHow', r.closeHow, s.closeHow(i));
    eq('connState', r.connState, 'SF');
    eq('resets', r.resets.length, 0);
    eq(
      'fins',
      r.fins.map((f) => [f.from, f.time, f.idleSeconds, f.requestOutstanding]),
      ([0, 1] as const)
        .filter((dir) => s.finSeen(i, dir))
        .map((dir) => [dir === 0 ? 'client' : 'server', s.finTime(i, dir), s.finIdle(i, dir), false])
        .sort((a, b) => (a[1] as number) - (b[1] as number)),
    );
    eq('gaps', r.gapBytesFromClient + r.gapBytesFromServer, 0);
    eq('marks kept whole', r.marks.filter((m) => m.kind === 'fin').length, r.fins.length);
  }
  return d.join('; ');
}

const files = captures(join(ROOT, 'test/fixtures'));
if (process.env.MIRRORLENS_CORPUS) files.push(...captures(process.env.MIRRORLENS_CORPUS));

for (const flow of [{ idleGapThresholdSeconds: 1 }, { idleGapThresholdSeconds: 30, perCapturePoint: true }] as FlowOptions[]) {
  test(`the survey ends the FlowTable's connections in its order with its facts (${JSON.stringify(flow)}, ${files.length} captures)`, async () => {
    const problems: string[] = [];
    let conns = 0;
    let simple = 0;
    for (const f of files) {
      const { recs, survey, ended } = await both(f, flow);
      const name = relative(ROOT, f);
      if (recs.length !== survey.size) {
        problems.push(`${name}: table ${recs.length} connections, survey ${survey.size}`);
        continue;
      }
      for (let i = 0; i < recs.length; i++) {
        const d = surveyDiff(recs[i]!, survey, i);
        if (d) problems.push(`${name} #${i} (${why(survey, i) || 'simple'}): ${d}`);
        assert.equal(ended[i], i, 'onEnd sees each connection with its row, its end order');
        if (survey.complex(i) === 0) simple++;
      }
      conns += recs.length;
    }
    assert.deepEqual(problems.slice(0, 20), []);
    assert.ok(conns > 100 && simple > 10, `${conns} connections, ${simple} simple`);
  });
}
