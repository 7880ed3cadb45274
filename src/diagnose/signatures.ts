/**
 * Packet signatures of documented causes the path rules did not name before (the verdict
 * catalogue, src/logs/causes/): response headers over 32 KB, a Content-Length larger than the
 * body, the load balancer dropping its own connection to a deregistered target. Each reads the
 * back legs (the load balancer's connection onward, the target's side of a NAT hop) and passes
 * when its signature is not there. Entries of the RULES table in rules.ts.
 */
import type { TxView } from '../correlate/views.js';
import type { LegFacts } from './facts.js';
import type { RequestContext } from './request.js';
import { formatSeconds } from './timeouts.js';
import { verdict, type Verdict } from './verdict.js';

/** The ALB's limit on the whole response header (aws-facts §6.1). */
export const ALB_RESPONSE_HEADER_LIMIT = 32 * 1024;

function backTxs(x: RequestContext): TxView[] {
  return [x.c.path.target?.tx, x.c.path.lb?.tx].filter((t): t is TxView => t !== null && t !== undefined);
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

/** The target's response head is over 32 KB (or so large the parser gave up on it). */
export function headersTooLarge(x: RequestContext): Verdict | null {
  const tx = backTxs(x).find((t) => (t.responseHeadBytes !== null && t.responseHeadBytes > ALB_RESPONSE_HEADER_LIMIT) || (t.outcome === 'malformed' && /head exceeds/.test(t.malformedReason ?? '')));
  if (!tx) return null;
  const size = tx.responseHeadBytes !== null ? `${kib(tx.responseHeadBytes)} (${tx.responseHeadBytes} bytes)` : 'more than the parser\'s 96 KiB';
  const passedOn = x.c.status !== null && tx.status !== null && x.c.status === tx.status;
  if (passedOn) return null; // the load balancer forwarded it: not this cause
  return verdict(
    'response-headers-too-large',
    'high',
    `The target answered${tx.status !== null ? ` ${tx.status}` : ''} with a response head of ${size}, over the 32 KiB an ALB accepts for the whole response header${x.c.status !== null ? `; the load balancer answered ${x.c.status} instead` : ''}.`,
    ['Shrink the response headers below 32 KB in all: fewer or smaller cookies (Set-Cookie), no large debug, policy or tracing headers; move data into the body.'],
    { legNotes: { [x.c.path.target?.tx === tx ? 'target' : 'lb']: `the response head is ${size}` } },
  );
}

/**
 * The target announced more body than it sent and went quiet: the load balancer waited for the
 * missing bytes until it gave up (its idle timeout) — or the log's 504 says it did.
 */
export function shortBody(x: RequestContext): Verdict | null {
  const legs: [LegFacts | null, TxView | undefined][] = [[x.lb, x.c.path.lb?.tx ?? undefined], [x.target, x.c.path.target?.tx ?? undefined]];
  for (const [f, tx] of legs) {
    if (!tx || tx.status === null || tx.responseContentLength === null || tx.responseBodyBytes >= tx.responseContentLength) continue;
    const missing = tx.responseContentLength - tx.responseBodyBytes;
    const last = tx.responseLastByteTime ?? tx.responseFirstByteTime;
    const gaveUp = f?.clientGaveUp ?? null;
    // The body stopped short and nothing else explains it: the target did not close or reset.
    if (f && ((f.serverRst !== null && (last === null || f.serverRst.time >= last)) || (f.serverFin !== null && (last === null || f.serverFin.time >= last)))) continue;
    if (!gaveUp && x.c.status !== 504) continue;
    const waited = gaveUp && last !== null ? ` then nothing for ${formatSeconds(gaveUp.time - last)} until the load balancer closed the connection (${gaveUp.kind.toUpperCase()})` : ' then nothing';
    return verdict(
      'content-length-mismatch',
      gaveUp ? 'high' : 'medium',
      `The target answered ${tx.status} with Content-Length ${tx.responseContentLength} but sent ${tx.responseBodyBytes} body bytes (${missing} missing),${waited}: the load balancer timed out waiting for the missing bytes${x.c.status !== null ? ` and logged ${x.c.status}` : ''}.`,
      ['Fix the target so the Content-Length it sends matches the body (a length computed before compression or rewriting, or a body cut short by an error after the headers went out), or send the body chunked.'],
      { idleSeconds: null, legNotes: { [x.c.path.target?.tx === tx ? 'target' : 'lb']: `${missing} of ${tx.responseContentLength} announced body bytes never came` } },
    );
  }
  return null;
}

/**
 * The load balancer itself reset its connection to the target with the request outstanding and no
 * answer begun, and answered 502: what an ALB does when the deregistration delay of a target
 * runs out with requests in flight (a FIN at its idle timeout with a 504 is a response timeout).
 */
export function deregisteredInFlight(x: RequestContext): Verdict | null {
  const f = x.lb ?? x.target;
  if (!f || x.c.status !== 502) return null;
  const g = f.clientGaveUp;
  if (!g || g.kind !== 'rst' || f.tx.responseFirstByteTime !== null) return null;
  if ((f.serverRst && f.serverRst.time <= g.time) || (f.serverFin && f.serverFin.time <= g.time)) return null;
  return verdict(
    'deregistered-in-flight',
    'medium',
    `The request reached ${f.server} and, ${formatSeconds(g.time - f.reqT)} later with no answer begun, the load balancer itself reset its connection to it (RST from ${f.client}) and answered 502: it dropped a target it had deregistered once the deregistration delay ran out.`,
    ['Raise the target group\'s deregistration_delay.timeout_seconds above the longest request, or stop sending long requests to a target before deregistering it (deploys and scale-in deregister targets).', 'Check the target group\'s health and registration events at that time (CloudTrail DeregisterTargets, Auto Scaling, ECS deployments).'],
    { idleSeconds: f.idle, idleRole: f === x.lb ? 'lb' : 'target', resetBy: f.client, legNotes: { [f === x.lb ? 'lb' : 'target']: 'the load balancer reset its own connection with the request outstanding' } },
  );
}

/**
 * The target answered completely (a status below 500) and the load balancer answered 5xx in its
 * place: it rejected the response. The parser found nothing wrong with it, so which rule it broke
 * is not in the packets; AWS names malformed responses and headers that are not valid.
 */
export function rejectedAnswer(x: RequestContext): Verdict | null {
  const tx = backTxs(x).find((t) => t.outcome === 'complete' && t.status !== null && t.status < 500);
  if (!tx || x.c.status === null || x.c.status < 500 || x.c.status === 504) return null;
  return verdict(
    'malformed-response',
    'medium',
    `The target answered ${tx.status}${tx.responseHeadBytes !== null ? ` (a ${tx.responseHeadBytes}-byte head)` : ''} and the load balancer answered ${x.c.status} in its place: it rejected the response. The HTTP parser found nothing malformed, so the rule it broke is a load balancer's own (header names or values it does not accept, a duplicate or conflicting Content-Length).`,
    ['Compare the target\'s response head with RFC 9110/9112: header names without spaces or separators, no control characters in values, one Content-Length, no obsolete line folding.'],
  );
}

/**
 * The load balancer's SYNs were never answered, and the target's reply was what got lost: the
 * target's interface sent SYN-ACKs that never reached the load balancer's side, or the target
 * interface's flow log REJECTs its replies from the target port. A network ACL (stateless)
 * without the return rule for the ephemeral ports 1024-65535 (a 504 after the connect timeout).
 */
export function returnPathBlocked(x: RequestContext): Verdict | null {
  const c = x.c;
  const lbAtt = c.path.lb?.attempts ?? [];
  const tAtt = c.path.target?.attempts ?? [];
  const unanswered = [...lbAtt, ...tAtt].filter((a) => a.synTimes.length > 0 && a.synAckTime === null);
  const sentBack = tAtt.filter((a) => a.synAckTime !== null);
  if (unanswered.length === 0 && !(sentBack.length && lbAtt.some((a) => a.synAckTime === null))) return null;
  const ends = [...lbAtt, ...tAtt].map((a) => ({ addr: a.serverAddr, port: a.serverPort }));
  const back = c.flowRows.filter((m) => m.row.action === 'REJECT' && ends.some((e) => m.row.srcAddr === e.addr && m.row.srcPort === e.port));
  const lost = sentBack.length > 0 && lbAtt.some((a) => a.synAckTime === null);
  if (!lost && back.length === 0) return null;
  const a = unanswered[0] ?? lbAtt[0]!;
  const tries = a.synTimes.length;
  const target = tAtt[0] ?? null;
  const arrived = target ? ` The SYNs reached the target (${target.serverAddr}:${target.serverPort}, seen on its interface${sentBack.length ? ' with the SYN-ACKs it sent' : '; its SYN-ACKs were not mirrored: dropped on the way out'}).` : '';
  const row = back[0]?.row;
  const rowText = row ? ` The target interface's flow log REJECTs its replies: ${row.srcAddr}:${row.srcPort} → ${row.dstAddr}:${row.dstPort}${row.interfaceId ? ` on ${row.interfaceId}` : ''} (${row.file}:${row.line}).` : '';
  return verdict(
    'return-path-blocked',
    'high',
    `The load balancer's SYNs to ${a.serverAddr}:${a.serverPort} were never answered (${tries} ${tries === 1 ? 'try' : 'tries'}): the replies were what was lost, on the way back.${arrived}${rowText} A network ACL without the return rule for the ephemeral ports drops them.`,
    ['Add an outbound rule to the network ACL of the targets\' subnet for TCP 1024-65535 to the load balancer\'s subnets (and an inbound one on the load balancer\'s subnets for the same ports): network ACLs are stateless, security groups are not.'],
    { legNotes: { target: sentBack.length ? 'the target sent SYN-ACKs that never arrived' : 'the SYNs arrived; no SYN-ACK left the interface' } },
  );
}

/** ICMPv4 destination-unreachable codes (RFC 792, RFC 1812 §5.2.7.1). */
const UNREACH: Record<number, string> = {
  0: 'network unreachable',
  1: 'host unreachable',
  2: 'protocol unreachable',
  3: 'port unreachable',
  4: 'fragmentation needed',
  6: 'destination network unknown',
  7: 'destination host unknown',
  9: 'network administratively prohibited',
  10: 'host administratively prohibited',
  13: 'communication administratively prohibited',
};

function icmpText(type: number, code: number): string {
  if (type === 3) return `destination unreachable (${UNREACH[code] ?? `code ${code}`})`;
  if (type === 11) return 'time exceeded';
  return `type ${type} code ${code}`;
}

/**
 * The load balancer's connection attempt was answered by an ICMP error quoting its SYN (host or port
 * unreachable, administratively prohibited): a 502 with nothing dispatched.
 */
export function targetUnreachable(x: RequestContext): Verdict | null {
  const atts = [...(x.c.path.lb?.attempts ?? []), ...(x.c.path.target?.attempts ?? [])];
  const a = atts.find((t) => (t.icmpError ?? null) !== null);
  if (!a) return null;
  const e = a.icmpError!;
  const what = icmpText(e.type, e.code);
  const prohibited = e.type === 3 && (e.code === 9 || e.code === 10 || e.code === 13);
  return verdict(
    'target-unreachable',
    'high',
    `The load balancer's SYN to ${a.serverAddr}:${a.serverPort} was answered by ICMP ${what} from ${e.from}${e.from === a.serverAddr ? ' (the address it was connecting to: the target, or a NAT hop in front of it)' : ''}, ${formatSeconds(Math.max(0, e.time - (a.synTimes[0] ?? e.time)))} after it: the connection failed at once and the request was never sent.`,
    prohibited
      ? [`${e.from} rejects the load balancer's traffic with an ICMP "administratively prohibited": allow the load balancer's subnets to the target port in that firewall (host firewall, security appliance).`]
      : [`Find why ${e.from} cannot deliver to ${a.serverAddr}: a target that is gone (stale registration, instance stopped, IP reused), a route missing, or a firewall rejecting with icmp-${e.code === 3 ? 'port' : 'host'}-unreachable. Check that traffic from the load balancer's subnets to the targets on the target port is allowed.`],
    { resetBy: e.from, legNotes: { lb: `the SYN was answered by ICMP ${what} from ${e.from}` } },
  );
}
