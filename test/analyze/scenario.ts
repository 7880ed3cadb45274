/**
 * Builds small analyze scenarios as real capture files: hand-built packets of the client ↔ load
 * balancer and load balancer ↔ target legs (VXLAN-encapsulated as Traffic Mirroring sends them,
 * VNI 1 for the client-facing ENI and VNI 2 for the target-facing one), written with our pcapng
 * writer, plus ALB access-log lines in the exact AWS format.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { LinkType } from '../../src/wire/link.js';
import { Talk, vxlanWrap, type TimedFrame } from '../flow/packets.js';

export const T0 = 1_764_000_000; // 2025-11-24T16:00:00Z
export const CLIENT: [string, number] = ['198.51.100.7', 50000];
export const LB_FRONT: [string, number] = ['10.0.1.4', 80];
export const LB_BACK_ADDR = '10.0.1.4';
export const TARGET: [string, number] = ['10.0.2.9', 8080];

export function frontTalk(port = CLIENT[1]): Talk {
  return new Talk([CLIENT[0], port], LB_FRONT, 11000, 21000);
}

export function backTalk(port = 41000): Talk {
  return new Talk([LB_BACK_ADDR, port], TARGET, 31000, 41000);
}

function isoMicros(t: number): string {
  const ms = Math.floor(t * 1000);
  const micros = Math.round((t * 1000 - ms) * 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/** One ALB access-log line (all 33 fields of the current format). */
export function albLine(o: {
  time: number;
  requestTime: number;
  client?: [string, number];
  target?: [string, number] | null;
  processing?: [string, string, string];
  elbStatus: number;
  targetStatus?: number | null;
  request: string;
  traceId?: string;
}): string {
  const c = o.client ?? CLIENT;
  const t = o.target === undefined ? TARGET : o.target;
  const [rp, tp, sp] = o.processing ?? ['0.000', '-1', '-1'];
  return [
    'http',
    isoMicros(o.time),
    'app/my-alb/50dc6c495c0c9188',
    `${c[0]}:${c[1]}`,
    t ? `${t[0]}:${t[1]}` : '-',
    rp,
    tp,
    sp,
    String(o.elbStatus),
    o.targetStatus === undefined || o.targetStatus === null ? '-' : String(o.targetStatus),
    '120',
    '272',
    `"${o.request}"`,
    '"curl/8.5.0"',
    '-',
    '-',
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/73e2d6bc24d8a067',
    `"${o.traceId ?? 'Root=1-6924a8a0-0123456789abcdef01234567'}"`,
    '"-"',
    '"-"',
    '0',
    isoMicros(o.requestTime),
    '"forward"',
    '"-"',
    '"-"',
    `"${t ? `${t[0]}:${t[1]}` : '-'}"`,
    `"${o.targetStatus === undefined || o.targetStatus === null ? '-' : String(o.targetStatus)}"`,
    '"-"',
    '"-"',
    'TID_1234abcd5678ef90',
    '"-"',
    '"-"',
    '"-"',
  ].join(' ');
}

export interface Scenario {
  dir: string;
  capture: string;
  albLog: string;
}

/** Writes the frames (front talks on VNI 1, back talks on VNI 2, talks behind a NAT hop on VNI 3) and the log lines. */
export function writeScenario(name: string, front: Talk[], back: Talk[], logLines: string[], behind: Talk[] = []): Scenario {
  const dir = mkdtempSync(join(tmpdir(), `ml-analyze-${name}-`));
  const capture = join(dir, `${name}.pcapng`);
  const w = new PcapngWriter({ path: capture });
  const ifId = w.addInterface({ linkType: LinkType.Ethernet, name: 'mirror-target' });
  const all: (TimedFrame & { vni: number })[] = [
    ...front.flatMap((t) => t.frames.map((f) => ({ ...f, vni: 1 }))),
    ...back.flatMap((t) => t.frames.map((f) => ({ ...f, vni: 2 }))),
    ...behind.flatMap((t) => t.frames.map((f) => ({ ...f, vni: 3 }))),
  ].sort((a, b) => a.time - b.time);
  for (const f of all) {
    const pkt = vxlanWrap(f.frame, f.vni, f.vni === 1 ? '10.0.1.4' : '10.0.1.4');
    const sec = Math.floor(f.time);
    w.writePacket(ifId, sec, Math.round((f.time - sec) * 1e9), pkt, 0, pkt.length);
  }
  w.close();
  const albLog = join(dir, 'alb.log');
  writeFileSync(albLog, logLines.map((l) => `${l}\n`).join(''));
  return { dir, capture, albLog };
}

/** A 200 answer on a kept-alive connection. */
export const OK_200 = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok';

/** A GET of `path` to api.example.com, with `trace` as its X-Amzn-Trace-Id when given. */
export function getRequest(path: string, trace?: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: api.example.com\r\n${trace ? `X-Amzn-Trace-Id: ${trace}\r\n` : ''}\r\n`;
}

/**
 * Request `i` of a busy capture, at T0 + 10 + 2i: its own client connection (from
 * 198.51.100.7:52000+i) and target connection (from the load balancer's port 42000+i), each
 * answered 200 and closed cleanly, and its ALB log line (200, with `traceId` when given). The ISNs
 * differ per request: equal ones would join the connections as one path's legs.
 */
export function cleanRequest(i: number, traceId?: string): { front: Talk; back: Talk; log: string } {
  const at = T0 + 10 + i * 2;
  const front = new Talk(['198.51.100.7', 52000 + i], LB_FRONT, 100_000 + i * 7919, 200_000 + i * 7919);
  front.handshake(at - 0.002);
  front.send(0, at, getRequest(`/ok/${i}`));
  const back = new Talk([LB_BACK_ADDR, 42000 + i], TARGET, 300_000 + i * 7919, 400_000 + i * 7919);
  back.handshake(at + 0.001);
  back.send(0, at + 0.002, getRequest(`/ok/${i}`));
  back.send(1, at + 0.005, OK_200);
  back.ack(0, at + 0.0055);
  back.fin(0, at + 0.006);
  back.fin(1, at + 0.0062);
  back.ack(0, at + 0.0064);
  front.send(1, at + 0.007, OK_200);
  front.ack(0, at + 0.0075);
  front.fin(0, at + 0.008);
  front.fin(1, at + 0.0082);
  front.ack(0, at + 0.0085);
  const log = albLine({ time: at + 0.007, requestTime: at, client: ['198.51.100.7', 52000 + i], processing: ['0.000', '0.005', '0.000'], elbStatus: 200, targetStatus: 200, request: `GET http://api.example.com:80/ok/${i} HTTP/1.1`, ...(traceId ? { traceId } : {}) });
  return { front, back, log };
}
