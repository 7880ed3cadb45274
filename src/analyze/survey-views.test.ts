// The views of undissected connections made from survey rows (survey-views.ts): hasMark, which the
// correlation asks of every connection instead of making its marks, says what the marks say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SurveyRecords, type SurveyRowEndpoint, type SurveyRowSource } from '../flow/survey-records.js';
import { rowEndpoint, rowSource } from '../../test/survey-rows.js';
import { hasMark, type ConnView, type TcpMark } from '../correlate/views.js';
import { surveyConnView } from './survey-views.js';

function source(i: number, cFin: boolean, sFin: boolean): SurveyRowSource {
  const fin = (on: boolean, t: number): SurveyRowEndpoint => rowEndpoint({ finSeen: on, finTime: on ? t : NaN, finIdle: on ? 0.5 : NaN });
  return rowSource(i, {
    synAckTime: 1_733_380_000.01 + i,
    synTimes: [1_733_380_000 + i],
    maxIdle: 1,
    closedBy: cFin ? 0 : sFin ? 1 : -1,
    closeHow: cFin || sFin ? 'fin' : null,
    // (The server's FIN first in one case: marks are in time order.)
    c: fin(cFin, 1_733_380_009 + i),
    s: fin(sFin, i % 2 === 0 ? 1_733_380_008 + i : 1_733_380_009.5 + i),
  });
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
