// The survey (first pass of a targeted analysis) against the FlowTable on every capture of the test
// fixtures (and the public corpus when MIRRORLENS_CORPUS names its directory): the same
// connections ending in the same order with the same uids, start and end times, ISNs, handshake
// times and byte counts; and for the connections it calls simple, the same close, FINs, silences
// and marks as the FlowTable's records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { processCaptures } from '../../src/flow/pipeline.js';
import { COMPLEX_NAMES, FlowSurvey, type SurveyConn } from '../../src/flow/survey.js';
import type { ConnectionRecord } from '../../src/flow/record.js';
import type { FlowOptions } from '../../src/flow/options.js';

const ROOT = join(import.meta.dirname, '../..');

function captures(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)(\.gz|\.\d+)?$/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

async function both(file: string, flow: FlowOptions): Promise<{ recs: ConnectionRecord[]; survey: SurveyConn[] }> {
  const recs: ConnectionRecord[] = [];
  await processCaptures([file], { onConnectionStart: () => null, onConnectionEnd: (r) => recs.push(r) }, flow);
  const survey: SurveyConn[] = [];
  const s = new FlowSurvey((c) => survey.push(c), flow);
  await processCaptures([file], {}, { ...flow, tracker: s, beforeDecode: (rec, n, i) => (s.at(n, i, rec.byteOffset), true) });
  return { recs, survey };
}

function why(c: SurveyConn): string {
  return Object.entries(COMPLEX_NAMES)
    .filter(([bit]) => (c.complex & Number(bit)) !== 0)
    .map(([, n]) => n)
    .join(',');
}

/** Differences between a record and the survey's connection ('' when none). */
export function surveyDiff(r: ConnectionRecord, c: SurveyConn): string {
  const d: string[] = [];
  const eq = (name: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b)) d.push(`${name}: table ${JSON.stringify(a)} survey ${JSON.stringify(b)}`);
  };
  eq('uid', r.uid, c.uid);
  eq('endCause', r.endCause, c.endCause);
  eq('client', `${r.clientAddr}:${r.clientPort}`, `${c.clientAddr}:${c.clientPort}`);
  eq('server', `${r.serverAddr}:${r.serverPort}`, `${c.serverAddr}:${c.serverPort}`);
  eq('capturePoint', r.capturePoint, c.capturePoint);
  eq('startTime', r.startTime, c.startTime);
  eq('endTime', r.endTime, c.endTime);
  eq('isn', [r.clientIsn, r.serverIsn], [c.clientIsn, c.serverIsn]);
  eq('synTimes', r.synTimes, c.synTimes);
  eq('synAckTime', r.synAckTime, Number.isNaN(c.synAckTime) ? null : c.synAckTime);
  eq('midstream', r.midstream, c.midstream);
  eq('refused', r.refused, c.refused);
  eq('packets', [r.packetsFromClient, r.packetsFromServer], [c.c.packets, c.s.packets]);
  eq('payloadBytes', [r.payloadBytesFromClient, r.payloadBytesFromServer], [c.c.payloadBytes, c.s.payloadBytes]);
  eq('maxIdleSeconds', r.maxIdleSeconds, c.maxIdle);
  eq('idleGaps', r.idleGaps.slice(0, 100), c.idleGapList());
  if (c.complex === 0) {
    eq('closedBy', r.closedBy, c.closedBy < 0 ? null : c.closedBy === 0 ? 'client' : 'server');
    eq('closeHow', r.closeHow, c.closeHow);
    eq('connState', r.connState, 'SF');
    eq('resets', r.resets.length, 0);
    eq(
      'fins',
      r.fins.map((f) => [f.from, f.time, f.idleSeconds, f.requestOutstanding]),
      [
        [c.c, 'client'],
        [c.s, 'server'],
      ]
        .filter(([e]) => (e as SurveyConn['c']).finSeen)
        .map(([e, who]) => [who, (e as SurveyConn['c']).finTime, (e as SurveyConn['c']).finIdle, false])
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
      const { recs, survey } = await both(f, flow);
      const name = relative(ROOT, f);
      if (recs.length !== survey.length) {
        problems.push(`${name}: table ${recs.length} connections, survey ${survey.length}`);
        continue;
      }
      for (let i = 0; i < recs.length; i++) {
        const d = surveyDiff(recs[i]!, survey[i]!);
        if (d) problems.push(`${name} #${i} (${why(survey[i]!) || 'simple'}): ${d}`);
        assert.equal(survey[i]!.endOrder, i);
      }
      conns += recs.length;
      simple += survey.filter((c) => c.complex === 0).length;
    }
    assert.deepEqual(problems.slice(0, 20), []);
    assert.ok(conns > 100 && simple > 10, `${conns} connections, ${simple} simple`);
  });
}
