// The views of undissected connections made from survey rows (survey-views.ts): hasMark, which the
// correlation asks of every connection instead of making its marks, says what the marks say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SurveyRecords, type SurveyRowEndpoint, type SurveyRowSource } from '../flow/survey-records.js';
import { uidOfWords } from '../flow/identity.js';
import { hasMark, type ConnView, type TcpMark } from '../correlate/views.js';
import { surveyConnView } from './survey-views.js';

function endpoint(fin: boolean, t: number): SurveyRowEndpoint {
  return { packets: 5, payloadBytes: 100, synCount: 1, isn: 7, finSeen: fin, finTime: fin ? t : NaN, finIdle: fin ? 0.5 : NaN, firstPayloadTime: 1, lastPayloadTime: 2 };
}

function source(i: number, cFin: boolean, sFin: boolean): SurveyRowSource {
  return {
    uid: uidOfWords(i + 1, i * 7 + 1, ~i),
    capturePoint: '',
    keyHash: i,
    ipVersion: 4,
    cA4: 0x0a000001,
    sA4: 0x0a000002,
    a6: null,
    clientPort: 40000 + i,
    serverPort: 443,
    startTime: 1_733_380_000 + i,
    lastTime: 1_733_380_010 + i,
    synAckTime: 1_733_380_000.01 + i,
    synTimes: [1_733_380_000 + i],
    maxIdle: 1,
    idleGaps: null,
    midstream: false,
    refused: false,
    closedBy: cFin ? 0 : sFin ? 1 : -1,
    closeHow: cFin || sFin ? 'fin' : null,
    complex: 0,
    endCause: 'closed',
    endPacket: i,
    endPhase: 0,
    tag: 0,
    firstPacket: i,
    firstInput: 0,
    firstOffset: 0,
    lastPacket: i,
    lastInput: 0,
    lastOffset: 0,
    // (The server's FIN first in one case: marks are in time order.)
    c: endpoint(cFin, 1_733_380_009 + i),
    s: endpoint(sFin, i % 2 === 0 ? 1_733_380_008 + i : 1_733_380_009.5 + i),
  };
}

const KINDS: TcpMark['kind'][] = ['syn', 'synack', 'fin', 'rst', 'data', 'keep-alive'];

test('survey connection views: hasMark says what their marks say', () => {
  const r = new SurveyRecords();
  let i = 0;
  for (const cFin of [false, true]) for (const sFin of [false, true]) for (let k = 0; k < 2; k++, i++) r.add(source(i, cFin, sFin), -1);
  for (let row = 0; row < r.size; row++) {
    const v = surveyConnView(r, row);
    assert.ok(v.hasMark !== undefined);
    for (const kind of KINDS) {
      for (const fromServer of [false, true]) {
        const want = v.marks.some((m) => m.kind === kind && (!fromServer || !m.fromClient));
        assert.equal(v.hasMark(kind, fromServer), want, `row ${row} ${kind} fromServer=${fromServer}`);
        assert.equal(hasMark(v, kind, fromServer), want);
        // A view without hasMark is answered from its marks.
        const plain: ConnView = Object.assign(Object.create(null) as ConnView, { marks: v.marks });
        assert.equal(hasMark(plain, kind, fromServer), want);
      }
    }
  }
  // Both FINs, neither, one each way were all there.
  assert.deepEqual([0, 2, 4, 6].map((row) => surveyConnView(r, row).marks.length), [0, 1, 1, 2]);
});
