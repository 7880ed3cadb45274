/**
 * The correlation's views of a connection the targeted analysis did not dissect, made from the
 * survey's facts (flow/survey.ts). Such a connection is simple (its bytes in order from a complete
 * handshake to FINs both ways, no request outstanding), and what the Correlator reads of a
 * connection it does not keep is exact here: endpoints, times, handshake, payload bytes, FINs and
 * their silences, idle gaps (the path model's leg index, role counts, keep-alive learning, the
 * idle candidates of an error). The rest (history, conn_state details, marks other than FINs,
 * Community ID) is filled in plainly and never read: a connection the Correlator keeps or a case
 * cites is dissected first (targeted.ts checks it and runs again when not).
 */
import type { OpenConn } from '../correlate/correlate.js';
import type { ConnView, LegView, TcpMark } from '../correlate/views.js';
import type { SurveyConn } from '../flow/survey.js';

const nn = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** Views made from the survey (never dissected): the check that nothing cited is one of them. */
export const surveyed = new WeakSet<ConnView>();

export function surveyLegView(s: SurveyConn): LegView {
  return {
    uid: s.uid,
    capturePoint: s.capturePoint,
    clientIsn: s.clientIsn,
    serverIsn: s.serverIsn,
    clientFirstPayload: null,
    serverFirstPayload: null,
    clientAddr: s.clientAddr,
    clientPort: s.clientPort,
    serverAddr: s.serverAddr,
    serverPort: s.serverPort,
    startTime: s.startTime,
    endTime: s.endTime,
    clientPayloadBytes: s.c.payloadBytes,
    serverFinTimes: s.s.finSeen ? [s.s.finTime] : [],
    serverRstTimes: [],
    open: false,
  };
}

export function surveyConnView(s: SurveyConn): ConnView {
  const marks: TcpMark[] = [];
  for (const [e, fromClient] of [
    [s.c, true],
    [s.s, false],
  ] as const) {
    if (e.finSeen) marks.push({ time: e.finTime, fromClient, kind: 'fin', length: 0, idleBeforeSeconds: e.finIdle, acksAllPeerData: null });
  }
  marks.sort((a, b) => a.time - b.time);
  const syn = s.synTimes.length > 0 ? s.synTimes[s.synTimes.length - 1]! : NaN;
  const leg = surveyLegView(s);
  const v: ConnView = {
    uid: leg.uid,
    communityId: null,
    capturePoint: leg.capturePoint,
    capturePoints: [leg.capturePoint],
    clientIsn: leg.clientIsn,
    serverIsn: leg.serverIsn,
    clientFirstPayload: null,
    serverFirstPayload: null,
    clientAddr: leg.clientAddr,
    clientPort: leg.clientPort,
    serverAddr: leg.serverAddr,
    serverPort: leg.serverPort,
    startTime: leg.startTime,
    endTime: leg.endTime,
    connState: 'SF',
    history: '',
    rttSeconds: nn(s.synAckTime - syn),
    synTimes: [...s.synTimes],
    synAckTime: nn(s.synAckTime),
    refused: s.refused,
    closedBy: s.closedBy < 0 ? null : s.closedBy === 0 ? 'client' : 'server',
    closeHow: s.closeHow,
    maxIdleSeconds: s.maxIdle,
    idleGaps: s.idleGapList(),
    gapBytes: 0,
    midstream: s.midstream,
    marks,
    requests: 0,
    tlsFailure: null,
  };
  surveyed.add(v);
  return v;
}

/** The open-leg note a connection gets when it starts (what the session tells the Correlator then). */
export function surveyOpenConn(s: SurveyConn): OpenConn {
  return {
    uid: s.uid,
    capturePoint: s.capturePoint,
    clientAddr: s.clientAddr,
    clientPort: s.clientPort,
    serverAddr: s.serverAddr,
    serverPort: s.serverPort,
    startTime: s.startTime,
    clientIsn: null,
    serverIsn: null,
    lastPacketTime: s.startTime,
  };
}
