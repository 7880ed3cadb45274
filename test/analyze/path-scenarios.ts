// The path model's built scenarios: client → ALB (10.0.1.4) → NLB (10.0.3.5:80) → target
// (10.0.2.9:8080), the NLB in both NAT modes, each story's packets on the three legs and its ALB
// log (and VPC flow log for syn-drop). Used by test/analyze/path.test.ts and the store's
// differential test.
import type { FindingKind } from '../../src/diagnose/finding.js';
import { Talk } from '../flow/packets.js';
import { albLine, T0 } from './scenario.js';

export const CLIENT = '198.51.100.7';
export const ALB = '10.0.1.4';
export const VIP: [string, number] = ['10.0.3.5', 80];
export const TARGET: [string, number] = ['10.0.2.9', 8080];
export const TRACE_WARM = 'Root=1-6924a8a0-aaaaaaaaaaaaaaaaaaaaaaaa';
export const TRACE_FAIL = 'Root=1-6924a8c8-bbbbbbbbbbbbbbbbbbbbbbbb';

export type Nat = 'preserve' | 'snat';
export type Mirror = 'lb' | 'target' | 'all';
export type Story = 'idle-reset' | 'keepalive-race' | 'target-crash' | 'slow-target' | 'syn-drop';

export const EXPECT: Record<Story, FindingKind> = {
  'idle-reset': 'idle-timeout-reset',
  'keepalive-race': 'keepalive-race',
  'target-crash': 'target-reset',
  'slow-target': 'target-response-timeout',
  'syn-drop': 'flow-log-reject',
};

export function req(path: string, trace: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: api.example.com\r\nX-Amzn-Trace-Id: ${trace}\r\n\r\n`;
}
export const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
const reply = (status: number) => `HTTP/1.1 ${status} ${status === 502 ? 'Bad Gateway' : 'Gateway Time-out'}\r\nServer: awselb/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;

/** A FIN from the server whose ACK stops short of the client's last `unseen` bytes (it left before they arrived). */
function finNotAcking(t: Talk, time: number, unseen: number): void {
  t.frames.push({ time, frame: t.build(1, 'FA', time, { ack: (t.nxt[0] - unseen) >>> 0 }) });
  t.nxt[1] = (t.nxt[1] + 1) >>> 0;
}

/** One TCP connection through the NLB: the ALB's leg and the target's leg (same sequence numbers, the NAT mode's addresses). */
function throughNlb(nat: Nat, albPort: number, isn: number, natPort: number): { lb: Talk; tgt: Talk } {
  const lb = new Talk([ALB, albPort], VIP, isn, isn + 7777);
  const tgt = new Talk(nat === 'preserve' ? [ALB, albPort] : [VIP[0], natPort], TARGET, isn, isn + 7777);
  return { lb, tgt };
}

export interface Built {
  front: Talk[];
  lb: Talk[];
  tgt: Talk[];
  log: string[];
  flow: string[];
}

export const D = 0.0002; // the NLB's forwarding delay

export function build(story: Story, nat: Nat): Built {
  const tFail = T0 + 40;
  const front = new Talk([CLIENT, 50001], [ALB, 443], 11000, 21000);
  const status = story === 'slow-target' || story === 'syn-drop' ? 504 : 502;
  const answerAt = story === 'slow-target' ? tFail + 2.001 : story === 'syn-drop' ? tFail + 2.001 : tFail + 0.5;
  front.handshake(tFail - 0.004);
  front.send(0, tFail - 0.002, `GET /orders HTTP/1.1\r\nHost: api.example.com\r\n\r\n`);
  front.ack(1, tFail - 0.0015);
  front.send(1, answerAt, reply(status));
  front.ack(0, answerAt + 0.0005);

  // A pooled connection that served /warm at T0+1.
  const { lb, tgt } = throughNlb(nat, 41000, 31000, 50123);
  for (const [t, d] of [[lb, 0], [tgt, D]] as const) {
    t.handshake(T0 + 0.998 + d);
    t.send(0, T0 + 1 + d, req('/warm', TRACE_WARM));
    t.send(1, T0 + 1.004 + (t === lb ? D : 0), OK);
    t.ack(0, T0 + 1.0046 + d);
  }
  const lbs = [lb];
  const tgts = [tgt];
  const flow: string[] = [];
  const request = req('/orders', TRACE_FAIL);
  switch (story) {
    case 'idle-reset':
      // The NLB forgot the flow: it answers the request with a RST of its own, the target never
      // sees it. Later the target closes its idle connection and the NLB resets that too.
      lb.send(0, tFail, request);
      lb.rst(1, tFail + 0.0003, false);
      tgt.fin(1, tFail + 5);
      tgt.rst(0, tFail + 5.0001, false);
      break;
    case 'keepalive-race':
      // The target closes its idle keep-alive connection; the FIN crosses the ALB's request.
      tgt.fin(1, tFail - 0.1);
      lb.send(0, tFail, request);
      tgt.send(0, tFail + D, request);
      tgt.rst(1, tFail + D + 0.0001, false);
      // The FIN reaches the ALB late (queued on the way back), acknowledging only what came before the request.
      finNotAcking(lb, tFail + 0.3, request.length);
      lb.rst(1, tFail + 0.3001, false);
      break;
    case 'target-crash':
      lb.send(0, tFail, request);
      tgt.send(0, tFail + D, request);
      tgt.ack(1, tFail + D + 0.0001);
      lb.ack(1, tFail + 2 * D + 0.0001);
      tgt.rst(1, tFail + 0.2);
      lb.rst(1, tFail + 0.2 + D);
      break;
    case 'slow-target':
      lb.send(0, tFail, request);
      tgt.send(0, tFail + D, request);
      tgt.ack(1, tFail + D + 0.0001);
      lb.ack(1, tFail + 2 * D + 0.0001);
      // The ALB gives up at its timeout and closes; the NLB relays the FIN; the target closes too.
      lb.fin(0, tFail + 2);
      tgt.fin(0, tFail + 2 + D);
      tgt.fin(1, tFail + 2 + D + 0.001);
      lb.fin(1, tFail + 2 + 2 * D + 0.001);
      lb.ack(0, tFail + 2 + 2 * D + 0.0012);
      tgt.ack(0, tFail + 2 + 3 * D + 0.0012);
      break;
    case 'syn-drop': {
      // A new connection: its SYNs cross the NLB and are dropped by the target's security group
      // (dropped packets are not mirrored); the flow logs have the ALB ENI's ACCEPT (pre-NAT)
      // and the target ENI's REJECT (post-NAT addresses).
      const fresh = throughNlb(nat, 41002, 77000, 50999);
      fresh.lb.syn(tFail);
      fresh.lb.synRetry(tFail + 1);
      lbs.push(fresh.lb);
      const [srcAddr, srcPort] = nat === 'preserve' ? [ALB, 41002] : [VIP[0], 50999];
      const s = Math.floor(tFail);
      flow.push(`2 123456789012 eni-0a1b2c3d4e5f60718 ${ALB} ${VIP[0]} 41002 80 6 2 120 ${s} ${s + 2} ACCEPT OK`);
      flow.push(`2 123456789012 eni-0fedcba9876543210 ${srcAddr} ${TARGET[0]} ${srcPort} 8080 6 2 120 ${s} ${s + 2} REJECT OK`);
      break;
    }
  }
  const log = [
    albLine({ time: T0 + 1.0045, requestTime: T0 + 1, client: [CLIENT, 50000], target: VIP, processing: ['0.000', '0.004', '0.000'], elbStatus: 200, targetStatus: 200, request: 'GET http://api.example.com:80/warm HTTP/1.1', traceId: TRACE_WARM }),
    albLine({
      time: answerAt,
      requestTime: tFail - 0.002,
      client: [CLIENT, 50001],
      target: VIP,
      processing: story === 'syn-drop' ? ['-1', '-1', '-1'] : ['0.000', '-1', '-1'],
      elbStatus: status,
      request: 'GET http://api.example.com:80/orders HTTP/1.1',
      traceId: TRACE_FAIL,
    }),
  ];
  return { front: [front], lb: lbs, tgt: tgts, log, flow };
}
