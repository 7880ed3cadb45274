// A connection as the survey hands it to its records (SurveyRecords.add), for tests that need rows:
// a plain IPv4 connection, closed, one SYN, no silences, with the test's own fields over it.
import type { SurveyRowEndpoint, SurveyRowSource } from '../src/flow/survey-records.js';
import { uidOfWords } from '../src/flow/identity.js';

export function rowEndpoint(over: Partial<SurveyRowEndpoint> = {}): SurveyRowEndpoint {
  return { packets: 5, payloadBytes: 100, synCount: 1, isn: 7, finSeen: false, finTime: NaN, finIdle: NaN, firstPayloadTime: 1, lastPayloadTime: 2, ...over };
}

/** Connection `i` (its uid, port, key and packet numbers from i), with `over` over it. */
export function rowSource(i: number, over: Partial<SurveyRowSource> = {}): SurveyRowSource {
  return {
    uid: uidOfWords(i + 1, i * 7 + 1, ~i),
    capturePoint: '',
    keyHash: i,
    ipVersion: 4,
    cA4: 0x0a000001,
    sA4: 0x0a000002,
    a6: null,
    clientPort: 1024 + (i % 60000),
    serverPort: 443,
    startTime: 1_733_380_000 + i,
    lastTime: 1_733_380_010 + i,
    synAckTime: NaN,
    synTimes: [],
    maxIdle: 0,
    idleGaps: null,
    midstream: false,
    refused: false,
    closedBy: -1,
    closeHow: null,
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
    c: rowEndpoint(),
    s: rowEndpoint(),
    ...over,
  };
}
