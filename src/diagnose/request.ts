/**
 * Verdicts on a request that went out on an established connection behind the load balancer,
 * reasoned over whichever back legs were captured:
 *
 * | the target leg (as the target got it) | the lb leg (as the load balancer sent it) | verdict |
 * |---|---|---|
 * | FIN from the target before the request reached it | FIN crossing the request (not acknowledging it) | `keepalive-race` |
 * | request reached the target, RST from the target | RST after the request | `target-reset` |
 * | joined by ISN, request never arrived | RST at once after an idle gap, not acknowledging the request | `idle-timeout-reset` |
 * | FIN from the target acknowledging the request | same | `target-closed-before-response` |
 * | the load balancer's FIN/RST (relayed) before any answer | the load balancer's FIN/RST before any answer | `target-response-timeout` |
 * | (lb leg not captured) a connection open and idle at the logged time, the request never on it | — | `idle-timeout-reset` (medium) / `keepalive-race` if the target had just sent FIN |
 *
 * The target leg decides what the target did; the lb leg what the load balancer saw; where only
 * one was captured its verdict carries the confidence of what it alone can prove.
 */
import type { Case } from '../correlate/case.js';
import { endpoint } from '../correlate/views.js';
import type { Evidence } from './finding.js';
import { looksLikeHopReset, type LegFacts } from './facts.js';
import { describeFits, fitTimeouts, formatSeconds, type KnownTimeout } from './timeouts.js';
import { idleResetAdvice, keepAliveRaceAdvice, RESPONSE_TIMEOUT_ADVICE, TARGET_CLOSED_ADVICE, TARGET_RESET_ADVICE, verdict, type Verdict } from './verdict.js';

export interface RequestContext {
  c: Case;
  lb: LegFacts | null;
  target: LegFacts | null;
  learned: readonly KnownTimeout[];
}

function fitText(idle: number, learned: readonly KnownTimeout[]): { fits: ReturnType<typeof fitTimeouts>; text: string } {
  const fits = fitTimeouts(idle, learned, 'middlebox');
  return {
    fits,
    text: fits.length
      ? ` That fits ${describeFits(fits)}.`
      : ' No default timeout matches exactly: a stateful hop (NLB, NAT gateway, firewall, conntrack) with a shorter or configured timeout forgot the connection.',
  };
}

/** What the target leg decides: it carried the request, so it shows what the target did. */
function fromTargetLeg(x: RequestContext): Verdict | null {
  const T = x.target;
  if (!T) return null;
  const L = x.lb;
  const lbNote = L ? {} : { lb: 'not captured: would show what reached the load balancer, and when' };
  if (T.serverFin && T.finCrossed) {
    const fin = T.serverFin;
    const keepAlive = fin.time <= T.reqT || T.idle === null ? fin.idleBeforeSeconds : T.idle;
    const extra: Evidence[] = [{ time: fin.time, source: 'packet', text: `target leg: the target ${T.server} sent its FIN ${formatSeconds(Math.abs(T.reqT - fin.time))} ${fin.time <= T.reqT ? 'before' : 'after'} the request reached it${fin.acksAllPeerData === false ? ' (not acknowledging it)' : ''}` }];
    if (L?.serverFin) extra.push({ time: L.serverFin.time, source: 'packet', text: `lb leg: the FIN reached the load balancer ${formatSeconds(Math.max(0, L.serverFin.time - L.reqT))} after it sent the request${L.serverFin.acksAllPeerData === false ? ', not acknowledging it' : ''}` });
    return verdict(
      'keepalive-race',
      T.finCrossedSure ? 'high' : 'medium',
      `The target closed the idle keep-alive connection (FIN after about ${formatSeconds(keepAlive)} idle) just as the load balancer sent the request on it: the FIN and the request crossed (the target sent its FIN before the request reached it).`,
      keepAliveRaceAdvice(keepAlive),
      { idleSeconds: T.idle, idleRole: 'target', resetBy: T.serverRst ? T.server : null, fits: fitTimeouts(keepAlive, x.learned, 'target'), extraEvidence: extra, legNotes: { target: 'the target\'s FIN left before the request arrived', ...lbNote } },
    );
  }
  if (T.serverRst && (!T.serverFin || T.serverRst.time < T.serverFin.time)) {
    const via = L ? ` The RST came back to the load balancer through ${L.server}.` : '';
    return verdict('target-reset', 'high', `The request reached the target ${T.server} and the target reset the connection ${formatSeconds(Math.max(0, T.serverRst.time - T.reqT))} later, before answering.${via}`, [TARGET_RESET_ADVICE], {
      idleSeconds: T.idle,
      idleRole: 'target',
      resetBy: T.server,
      legNotes: { target: 'the request arrived and the target answered it with RST', ...lbNote },
    });
  }
  if (T.serverFin) {
    return verdict('target-closed-before-response', 'high', `The target ${T.server} closed the connection (FIN) ${formatSeconds(Math.max(0, T.serverFin.time - T.reqT))} after receiving the request, without answering it.`, [TARGET_CLOSED_ADVICE], {
      idleSeconds: T.idle,
      idleRole: 'target',
      legNotes: { target: 'the request arrived; the target closed without answering', ...lbNote },
    });
  }
  const gaveUp = L?.clientGaveUp ?? T.clientGaveUp;
  if (gaveUp || (x.c.status === 504 && T.tx.responseFirstByteTime === null)) {
    const from = L?.clientGaveUp ? L : T;
    const waited = gaveUp ? gaveUp.time - from.reqT : x.c.log?.targetProcessingSeconds ?? null;
    return verdict(
      'target-response-timeout',
      gaveUp ? 'high' : 'medium',
      `The request reached the target ${T.server}${waited !== null ? ` and nothing came back for ${formatSeconds(waited)}` : ' and no response came back'}; the load balancer gave up${gaveUp ? ` and closed the connection with ${gaveUp.kind.toUpperCase()}` : ''}.`,
      RESPONSE_TIMEOUT_ADVICE,
      { idleSeconds: T.idle, idleRole: 'target', legNotes: { target: 'the request arrived; no answer before the load balancer closed', ...lbNote } },
    );
  }
  return null;
}

/** What the lb leg decides, with the target leg (joined through the hop, without the request) as a witness when captured. */
function fromLbLeg(x: RequestContext): Verdict | null {
  const L = x.lb;
  if (!L) return null;
  const tLeg = x.c.path.target;
  const targetWithout = tLeg !== null && tLeg.tx === null && tLeg.attempts.length === 0 && tLeg.leg !== null;
  const targetNote = tLeg ? {} : { target: x.c.coverage.target ? 'not joined: no connection on the target side had this one\'s sequence numbers' : 'not captured: would show whether the request reached the target (mirror the target\'s ENI)' };
  if (L.serverFin && L.finCrossed) {
    const fin = L.serverFin;
    const keepAlive = fin.time <= L.reqT || L.idle === null ? fin.idleBeforeSeconds : L.idle;
    const extra: Evidence[] = [];
    let sure = L.finCrossedSure;
    const tFin = tLeg?.leg?.serverFinTimes[0];
    if (tFin !== undefined) {
      extra.push({ time: tFin, source: 'packet', text: `target leg: the target ${endpoint(tLeg!.leg!.serverAddr, tLeg!.leg!.serverPort)} sent its FIN ${formatSeconds(Math.abs(L.reqT - tFin))} ${tFin <= L.reqT ? 'before' : 'after'} the load balancer sent the request` });
      if (tFin <= L.reqT) sure = true;
    }
    return verdict(
      'keepalive-race',
      sure ? 'high' : 'medium',
      `The target closed the idle keep-alive connection (FIN after about ${formatSeconds(keepAlive)} idle) just as the load balancer sent the request on it: the FIN and the request crossed${fin.acksAllPeerData === false ? ' (the FIN does not acknowledge the request: the target had not seen it)' : ''}.`,
      keepAliveRaceAdvice(keepAlive),
      { idleSeconds: L.idle, idleRole: 'lb', resetBy: L.serverRst ? L.server : null, fits: fitTimeouts(keepAlive, x.learned, 'target'), extraEvidence: extra, legNotes: { lb: 'the FIN reached the load balancer after it sent the request', ...targetNote } },
    );
  }
  if (L.serverFin && (!L.serverRst || L.serverFin.time <= L.serverRst.time)) {
    return verdict('target-closed-before-response', 'high', `The target closed the connection (FIN) ${formatSeconds(Math.max(0, L.serverFin.time - L.reqT))} after receiving the request, without answering it.`, [TARGET_CLOSED_ADVICE], {
      idleSeconds: L.idle,
      idleRole: 'lb',
      legNotes: { ...targetNote },
    });
  }
  if (L.serverRst) {
    if (looksLikeHopReset(L) && !tLeg?.tx) {
      const idle = L.idle!;
      const { fits, text } = fitText(idle, x.learned);
      const extra: Evidence[] = [];
      if (targetWithout) {
        const t = tLeg!.leg!;
        extra.push({
          time: L.serverRst.time,
          source: 'packet',
          text: `target leg (${endpoint(t.clientAddr, t.clientPort)} → ${endpoint(t.serverAddr, t.serverPort)}, joined by ${tLeg!.joinedBy?.key ?? 'sequence numbers'}) carried no request then: the target never saw it, so the RST was made by the hop in between`,
        });
      }
      const confidence = targetWithout || fits.length > 0 || idle >= 60 ? 'high' : 'medium';
      return verdict(
        'idle-timeout-reset',
        confidence,
        `The request was sent on a pooled connection idle for ${formatSeconds(idle)} and was answered at once by a TCP RST from ${L.server}: a stateful hop on the path had forgotten the connection${targetWithout ? ' (the target behind it never saw the request)' : ''}.${text}`,
        idleResetAdvice(fits.some((f) => f.name.startsWith('NLB')), idle),
        {
          idleSeconds: idle,
          idleRole: 'lb',
          resetBy: L.server,
          fits,
          extraEvidence: extra,
          legNotes: targetWithout ? { lb: 'the RST came at once after the idle gap', target: 'the same TCP connection behind the hop: no request arrived' } : { lb: 'the RST came at once after the idle gap', ...targetNote },
        },
      );
    }
    const prompt = L.serverRst.time - L.reqT <= L.window;
    return verdict(
      'target-reset',
      prompt ? 'medium' : 'high',
      `The target side reset the connection (RST from ${L.server}) ${formatSeconds(L.serverRst.time - L.reqT)} after the request, while the request was outstanding${L.idle !== null && L.idle < 1 ? ' (the connection was not idle before)' : ''}.`,
      [TARGET_RESET_ADVICE],
      { idleSeconds: L.idle, idleRole: 'lb', resetBy: L.server, legNotes: { ...targetNote } },
    );
  }
  if (L.clientGaveUp || (x.c.status === 504 && L.tx.responseFirstByteTime === null)) {
    const g = L.clientGaveUp;
    const waited = g ? g.time - L.reqT : x.c.log?.targetProcessingSeconds ?? null;
    return verdict(
      'target-response-timeout',
      g ? 'high' : 'medium',
      `The request reached the target${waited !== null ? ` and nothing came back for ${formatSeconds(waited)}` : ' and no response came back'}; the load balancer gave up${g ? ` and closed the connection with ${g.kind.toUpperCase()}` : ''}.`,
      RESPONSE_TIMEOUT_ADVICE,
      { idleSeconds: L.idle, idleRole: 'lb', legNotes: { ...targetNote } },
    );
  }
  return null;
}

/**
 * Only the target's side captured, and the request never on it: the connection it was meant for
 * is the one open and idle at the logged time (or the target had just closed it).
 */
function fromIdleCandidates(x: RequestContext): Verdict | null {
  const c = x.c;
  const cands = c.path.idleCandidates;
  if (x.lb || x.target || !c.log || cands.length === 0) return null;
  const best = cands[0]!;
  const conn = best.conn;
  const from = endpoint(conn.clientAddr, conn.clientPort)!;
  const to = endpoint(conn.serverAddr, conn.serverPort)!;
  const others = cands.length > 1 ? ` (${cands.length} such connections were open, idle ${formatSeconds(cands[cands.length - 1]!.idleSeconds)} to ${formatSeconds(best.idleSeconds)})` : '';
  const lbNote = 'not captured: would show which pooled connection carried the request and the RST or FIN it got';
  if (best.serverFinBefore !== null) {
    const before = (c.log.requestTime ?? c.log.time) - c.skewSeconds - best.serverFinBefore;
    return verdict(
      'keepalive-race',
      'medium',
      `The target never saw the request: ${before >= 0 ? `${formatSeconds(before)} before it, ` : ''}the target ${to} closed its idle keep-alive connection from ${from} (FIN), and the load balancer's request on it found it closed${others}.`,
      keepAliveRaceAdvice(best.idleSeconds),
      { idleSeconds: best.idleSeconds, idleRole: 'target', missing: ['the load balancer → target leg, to see the FIN and the request cross'], legNotes: { lb: lbNote, target: 'open connection, FIN from the target just before the request; the request never arrived' } },
    );
  }
  if (c.status !== 502 || best.idleSeconds < 1) return null;
  const idle = best.idleSeconds;
  const { fits, text } = fitText(idle, x.learned);
  const later = best.resetByHopAfter !== null ? ` Later the target's own packet on that connection was answered by a RST in the name of ${from}: the hop had indeed forgotten it.` : '';
  return verdict(
    'idle-timeout-reset',
    best.resetByHopAfter !== null ? 'high' : 'medium',
    `The target never saw the request: its connection from ${from} had been idle ${formatSeconds(idle)} when the load balancer answered 502 with no response from the target${others}: a stateful hop between them had most likely forgotten the connection and reset the request.${later}${text}`,
    idleResetAdvice(fits.some((f) => f.name.startsWith('NLB')), idle),
    {
      idleSeconds: idle,
      idleRole: 'target',
      fits,
      missing: ['the load balancer → NAT hop leg (mirror the load balancer\'s ENI): it would show the RST and which connection carried the request'],
      legNotes: { lb: lbNote, target: `open and idle ${formatSeconds(idle)} at the request's time; the request never arrived` },
    },
  );
}

export function decideRequest(x: RequestContext): Verdict | null {
  return fromTargetLeg(x) ?? fromLbLeg(x) ?? fromIdleCandidates(x);
}
