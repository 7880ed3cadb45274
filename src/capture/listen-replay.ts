/**
 * `mirrorlens replay`: re-encapsulates the packets of any capture as VXLAN (like VPC Traffic
 * Mirroring) or GENEVE and sends them over UDP, to test a mirror target (ours or another).
 *
 * - Ethernet frames are sent as they are; raw IP / Linux cooked (SLL, SLL2) / BSD loopback get a
 *   synthetic Ethernet header for VXLAN (02:00:00:00:00:01 → 02:00:00:00:00:02 unless SLL gives
 *   the source MAC); with GENEVE they go as bare IP (protocol 0x0800/0x86DD, as a Gateway Load
 *   Balancer sends them). Other link types are skipped and counted.
 * - VNI: --vni, else the VNI recorded by `mirrorlens listen` in the interface description, else 1.
 * - Pacing: the capture's own timing by default; a fixed rate (packets/s); or 0 = as fast as
 *   the socket takes them. The file is read as it is sent (memory bounded by one read chunk).
 */
import dgram from 'node:dgram';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { isIP } from 'node:net';
import { CaptureParser } from './parser.js';
import type { InterfaceInfo, PacketRecord } from './record.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { fileProblem } from './inputs.js';

export interface ReplayOptions {
  host: string;
  port: number;
  /** 'vxlan' (default) or 'geneve'. */
  encapsulation?: 'vxlan' | 'geneve';
  /** VNI for every packet (default: from the interface description, else 1). */
  vni?: number;
  /** Packets per second; 0 = as fast as possible; undefined = the capture's own timing. */
  rate?: number;
  /** Send the capture this many times (default 1). */
  loops?: number;
  /** Called every second with progress. */
  onProgress?: (sent: number, skipped: number) => void;
  signal?: AbortSignal;
}

export interface ReplayResult {
  packets: number;
  bytes: number;
  skipped: number;
  seconds: number;
  sendErrors: number;
}

interface Pending {
  data: Uint8Array;
  time: number;
}

const ETH_SRC = [0x02, 0, 0, 0, 0, 0x01];
const ETH_DST = [0x02, 0, 0, 0, 0, 0x02];
const MAX_IN_FLIGHT = 4096;

/** Builds the UDP payload (tunnel header + inner) for one captured packet, or null when skipped. */
export function encapsulate(kind: 'vxlan' | 'geneve', vni: number, linkType: number, b: Uint8Array, off: number, len: number): Uint8Array | null {
  let etherType = 0;
  let payloadOff = off;
  let srcMac: Uint8Array | number[] = ETH_SRC;
  let ethernet = false;
  switch (linkType) {
    case 1:
      ethernet = true;
      break;
    case 101:
    case 12:
    case 14:
    case 228:
    case 229: {
      const v = len > 0 ? b[off]! >> 4 : 0;
      etherType = v === 4 ? 0x0800 : v === 6 ? 0x86dd : 0;
      break;
    }
    case 113: // Linux cooked v1: pkttype 2, hatype 2, halen 2, addr 8, protocol 2
      if (len < 16) return null;
      etherType = (b[off + 14]! << 8) | b[off + 15]!;
      if (((b[off + 4]! << 8) | b[off + 5]!) === 6) srcMac = b.subarray(off + 6, off + 12);
      payloadOff = off + 16;
      break;
    case 276: // Linux cooked v2: protocol 2, reserved 2, ifindex 4, hatype 2, pkttype 1, halen 1, addr 8
      if (len < 20) return null;
      etherType = (b[off]! << 8) | b[off + 1]!;
      if (b[off + 11] === 6) srcMac = b.subarray(off + 12, off + 18);
      payloadOff = off + 20;
      break;
    case 0:
    case 108: {
      if (len < 4) return null;
      const le = b[off]! | (b[off + 1]! << 8);
      const be = (b[off + 2]! << 8) | b[off + 3]!;
      const fam = le !== 0 ? le : be;
      etherType = fam === 2 ? 0x0800 : fam === 10 || fam === 24 || fam === 28 || fam === 30 ? 0x86dd : 0;
      payloadOff = off + 4;
      break;
    }
    default:
      return null;
  }
  if (!ethernet && etherType === 0) return null;
  const end = off + len;
  const inner = end - payloadOff;
  if (kind === 'vxlan') {
    const out = new Uint8Array(8 + (ethernet ? len : 14 + inner));
    out[0] = 0x08; // I flag
    out[4] = (vni >> 16) & 0xff;
    out[5] = (vni >> 8) & 0xff;
    out[6] = vni & 0xff;
    if (ethernet) out.set(b.subarray(off, end), 8);
    else {
      out.set(ETH_DST, 8);
      out.set(srcMac, 14);
      out[20] = etherType >> 8;
      out[21] = etherType & 0xff;
      out.set(b.subarray(payloadOff, end), 22);
    }
    return out;
  }
  // GENEVE: version 0, no options; Ethernet as 0x6558, IP bare
  const ipOnly = !ethernet && (etherType === 0x0800 || etherType === 0x86dd);
  const body = ethernet ? b.subarray(off, end) : ipOnly ? b.subarray(payloadOff, end) : null;
  if (body === null) {
    // other EtherTypes from cooked captures: wrap in Ethernet
    const out = new Uint8Array(8 + 14 + inner);
    out[2] = 0x65;
    out[3] = 0x58;
    out[4] = (vni >> 16) & 0xff;
    out[5] = (vni >> 8) & 0xff;
    out[6] = vni & 0xff;
    out.set(ETH_DST, 8);
    out.set(srcMac, 14);
    out[20] = etherType >> 8;
    out[21] = etherType & 0xff;
    out.set(b.subarray(payloadOff, end), 22);
    return out;
  }
  const proto = ethernet ? 0x6558 : etherType;
  const out = new Uint8Array(8 + body.length);
  out[2] = proto >> 8;
  out[3] = proto & 0xff;
  out[4] = (vni >> 16) & 0xff;
  out[5] = (vni >> 8) & 0xff;
  out[6] = vni & 0xff;
  out.set(body, 8);
  return out;
}

/** Replays `file` (pcap / pcapng, optionally gzip) to host:port. */
export async function replayCapture(file: string, o: ReplayOptions): Promise<ReplayResult> {
  const kind = o.encapsulation ?? 'vxlan';
  const family = isIP(o.host) === 6 ? 'udp6' : 'udp4';
  const sock = dgram.createSocket({ type: family, sendBufferSize: 8 << 20 });
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.connect(o.port, o.host, () => {
      sock.off('error', rej);
      res();
    });
  }).catch((e: unknown) => {
    sock.close();
    throw new MirrorlensError(ErrorCode.Usage, `replay: cannot send to ${o.host}:${o.port}: ${(e as Error).message}`);
  });
  sock.on('error', () => {
    // reported per send through the callback
  });
  const result: ReplayResult = { packets: 0, bytes: 0, skipped: 0, seconds: 0, sendErrors: 0 };
  let inFlight = 0;
  let drained: (() => void) | null = null;
  let firstError: Error | null = null;
  const onSent = (e: Error | null): void => {
    inFlight--;
    if (e) {
      result.sendErrors++;
      firstError ??= e;
    }
    if (drained && inFlight < MAX_IN_FLIGHT / 2) {
      const d = drained;
      drained = null;
      d();
    }
  };
  const t0 = performance.now();
  let progressAt = t0 + 1000;
  let firstCaptureTime = -1;
  let sentSinceStart = 0;
  const loops = o.loops ?? 1;
  const vniOf: number[] = [];
  try {
    for (let loop = 0; loop < loops; loop++) {
      const queue: Pending[] = [];
      const parser = new CaptureParser(file, {
        onInterface: (i: InterfaceInfo) => {
          const m = /\bVNI (\d+)/.exec(i.description ?? '') ?? /^vxlan-(\d+)$/.exec(i.name ?? '');
          vniOf[i.id] = m ? Number(m[1]) : 1;
        },
        onPacket: (r: PacketRecord) => {
          const vni = o.vni ?? vniOf[r.interfaceId] ?? 1;
          const d = encapsulate(kind, vni, r.linkType, r.data, r.offset, r.capturedLength);
          if (d === null) result.skipped++;
          else queue.push({ data: d, time: r.time });
        },
      });
      const gz = /\.gz$/i.test(file);
      const stream = gz ? createReadStream(file).pipe(createGunzip()) : createReadStream(file, { highWaterMark: 256 * 1024 });
      let loopStart = -1;
      const sendQueue = async (): Promise<void> => {
        for (const p of queue) {
          o.signal?.throwIfAborted();
          if (o.rate === undefined) {
            if (firstCaptureTime < 0) firstCaptureTime = p.time;
            if (loopStart < 0) loopStart = performance.now() - (p.time - firstCaptureTime) * 1000;
            const due = loopStart + (p.time - firstCaptureTime) * 1000;
            const wait = due - performance.now();
            if (wait > 1) await sleep(wait);
          } else if (o.rate > 0) {
            const due = t0 + (sentSinceStart / o.rate) * 1000;
            const wait = due - performance.now();
            if (wait > 1) await sleep(wait);
          }
          if (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((res) => (drained = res));
          inFlight++;
          sock.send(p.data, onSent);
          sentSinceStart++;
          result.packets++;
          result.bytes += p.data.length;
          const now = performance.now();
          if (now >= progressAt) {
            progressAt = now + 1000;
            o.onProgress?.(result.packets, result.skipped);
          }
          // let the event loop run the send callbacks now and then
          if (o.rate === 0 && (sentSinceStart & 255) === 0) await new Promise((r) => setImmediate(r));
        }
        queue.length = 0;
      };
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          parser.push(chunk);
          if (queue.length) await sendQueue();
          if (parser.done) break;
        }
      } catch (e) {
        if (e instanceof MirrorlensError || (e as Error).name === 'AbortError') throw e;
        throw new MirrorlensError(ErrorCode.FileOpen, `cannot read capture: ${fileProblem(e)}`, { file });
      } finally {
        stream.destroy();
      }
      parser.end();
      if (queue.length) await sendQueue();
      if (parser.packets === 0 && parser.format === null) throw new MirrorlensError(ErrorCode.NotACapture, 'not a pcap or pcapng capture', { file });
      if (parser.packets === 0 && parser.truncated) {
        const w = parser.warningList[0];
        throw new MirrorlensError(ErrorCode.CaptureCorrupt, `no packet could be read: ${w?.message ?? 'the capture is cut off'}`, { file, byteOffset: w?.byteOffset });
      }
      firstCaptureTime = -1;
    }
    while (inFlight > 0) await new Promise<void>((res) => (drained = res));
  } finally {
    result.seconds = (performance.now() - t0) / 1000;
    await new Promise<void>((r) => sock.close(() => r()));
  }
  if (firstError && result.sendErrors === result.packets && result.packets > 0) {
    throw new MirrorlensError(ErrorCode.Usage, `replay: every send failed: ${(firstError as Error).message}`);
  }
  return result;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
