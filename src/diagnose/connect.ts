/**
 * Verdicts on connection attempts that failed behind the load balancer: a TLS handshake that
 * ended in a fatal alert, a SYN answered by RST, SYNs never answered — and, for those, what the
 * VPC flow logs of every leg's addresses (before and after a NAT hop) say about where they died.
 */
import type { Case } from '../correlate/case.js';
import type { FlowMatch } from '../correlate/flow-match.js';
import type { ConnView } from '../correlate/views.js';
import { endpoint } from '../correlate/views.js';
import { formatSeconds } from './timeouts.js';
import { FLOW_REJECT_ADVICE, verdict, type Verdict } from './verdict.js';

function ends(c: ConnView): { client: string; server: string } {
  return { client: endpoint(c.clientAddr, c.clientPort)!, server: endpoint(c.serverAddr, c.serverPort)! };
}

function rowText(m: FlowMatch): string {
  const r = m.row;
  return `${r.srcAddr}:${r.srcPort ?? '-'} → ${r.dstAddr}:${r.dstPort ?? '-'}${r.interfaceId ? ` on ${r.interfaceId}` : ''}`;
}

const KEY_WORDS: Record<FlowMatch['key'], string> = {
  'five-tuple': 'the same addresses and ports',
  'preserved-client': 'the load balancer\'s source ip:port, kept by the NLB (client IP preservation)',
  'nat-source': 'the NAT hop\'s own address as source (client IP preservation off), at the time of the SYNs',
  'log-target': 'the logged target (the NAT hop) and the request\'s time',
};

/** A REJECT past the NAT hop, in words: which row, matched how. */
function rejectText(rejects: FlowMatch[]): string {
  const post = rejects.filter((m) => m.side === 'post-nat');
  const r = post[0] ?? rejects[0]!;
  const where = r.side === 'post-nat' ? 'behind the NAT hop (the addresses the target\'s ENI saw)' : 'on the load balancer\'s side';
  return `the VPC flow logs show them REJECTed ${where}: ${rowText(r)}, matched by ${KEY_WORDS[r.key]}`;
}

export function decideAttempts(c: Case): Verdict | null {
  const lbAttempts = c.path.lb?.attempts ?? [];
  const tAttempts = c.path.target?.attempts ?? [];
  const all = [...lbAttempts, ...tAttempts];
  const tlsFailed = all.find((a) => a.tlsFailure !== null);
  if (tlsFailed) {
    const { server } = ends(tlsFailed);
    const f = tlsFailed.tlsFailure!;
    return verdict('tls-handshake-failure', 'high', `The TLS handshake between the load balancer and ${server} failed: the ${f.from === 'server' ? 'target' : 'load balancer'} sent the fatal alert "${f.alert}".`, [
      'Check the target\'s TLS configuration against what the load balancer offers (protocol versions, cipher suites, certificate); an ALB does not validate target certificates but fails on handshake errors and on handshakes slower than 10 s.',
    ]);
  }
  // Refused: the target leg names the target itself; the lb leg sees the RST relayed by the hop.
  const refused = tAttempts.find((a) => a.refused) ?? lbAttempts.find((a) => a.refused);
  if (refused) {
    const { server } = ends(refused);
    const seenAt = tAttempts.includes(refused) ? ' (seen on the target\'s side of the NAT hop)' : '';
    return verdict('target-connection-refused', 'high', `The load balancer's connection attempt to ${server}${seenAt} was refused: the SYN was answered by a RST (nothing listening on that port, or a host/firewall rejecting it).`, [
      'Check that the target application is running and listening on the target group port, and that the health check reflects it (it should have marked the target unhealthy).',
    ], { resetBy: server });
  }
  const rejects = c.flowRows.filter((m) => m.row.action === 'REJECT');
  const dropped = lbAttempts.find((a) => a.synTimes.length > 0 && a.synAckTime === null) ?? tAttempts.find((a) => a.synTimes.length > 0 && a.synAckTime === null);
  if (dropped) {
    const { client, server } = ends(dropped);
    const tries = dropped.synTimes.length;
    const span = tries > 1 ? dropped.synTimes[tries - 1]! - dropped.synTimes[0]! : 0;
    const unanswered = `The SYNs from ${client} to ${server} were never answered (${tries} ${tries === 1 ? 'try' : 'tries'} over ${formatSeconds(span)})`;
    const pastHop = lbAttempts.includes(dropped) && c.coverage.target && tAttempts.length === 0 ? '; none of them reached the target\'s mirrored interface' : '';
    if (rejects.length) {
      const conf = rejects.some((m) => m.confidence === 'high') ? 'high' : 'medium';
      return verdict('flow-log-reject', conf, `${unanswered}${pastHop}, and ${rejectText(rejects)}: a security group or network ACL blocks the target port.`, [FLOW_REJECT_ADVICE]);
    }
    if (c.flowLogsGiven && (c.inFlowLogs || c.flowRows.length > 0)) {
      return verdict('target-connect-timeout', 'high', `${unanswered}; the flow logs show the flow ACCEPTed, so the packets reached the interface and the target itself did not answer (host firewall, overloaded or dead target).`, [
        'Check the target host: its local firewall (iptables/nftables), the listen backlog (SYN queue overflow under load), and whether the instance is healthy.',
      ]);
    }
    if (c.flowLogsGiven) {
      return verdict('not-in-flow-logs', 'medium', `${unanswered} and the flow logs have no record of this flow, before or after the NAT hop: the traffic never reached an interface that logs, which points at routing.`, [
        'Check the route tables and the target\'s subnet/ENI: flow logs record REJECTs from security groups and network ACLs, so a flow absent from them did not arrive.',
      ], { missing: ['the flow logs of the target\'s ENI, if they were not among the files given'] });
    }
    return verdict('target-connect-timeout', 'high', `${unanswered}${pastHop}: a security group, network ACL, routing, or a dead target drops them.`, [
      'Check the target security group allows the load balancer on the target port, the network ACLs both ways (ephemeral ports on the return), routing, and that the target is up. VPC flow logs (--flow-log) tell a REJECT from an absence.',
    ], { missing: ['VPC flow logs for the target\'s interface, to tell a REJECT from a routing problem'] });
  }
  // No attempt captured at all, but the log says the load balancer never got a connection and a
  // flow log REJECTed it past the hop (security groups drop before mirroring: nothing to capture).
  const log = c.log;
  if (log && rejects.length && log.targetStatus === null && (log.requestProcessingSeconds === -1 || log.elbStatus === 504 || log.elbStatus === 503)) {
    const seen = c.coverage.target ? ' and no SYN reached the target\'s mirrored interface (packets a security group drops are not mirrored)' : '';
    return verdict('flow-log-reject', 'medium', `The load balancer could not connect to ${endpoint(log.targetAddr, log.targetPort) ?? 'its target'} (${log.elbStatus}, target_status -)${seen}; ${rejectText(rejects)}: a security group or network ACL blocks the target port.`, [FLOW_REJECT_ADVICE], {
      missing: c.path.lb ? [] : ['the load balancer → target leg (mirror the load balancer\'s ENI) would show the unanswered SYNs themselves'],
    });
  }
  return null;
}
