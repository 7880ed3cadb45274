/**
 * How `mirrorlens listen` takes packets from the kernel (docs/listen.md "Engines"):
 *
 * - socket: Node's node:dgram. One recvmsg, one Buffer and one rinfo object per datagram, one
 *   wake-up per poll; no native code, no privilege.
 * - mmsg: the native addon's recvmmsg(2) on a UDP socket: up to 64 datagrams per system call into
 *   one reused buffer, their sources as numbers and the kernel's time of arrival (SO_TIMESTAMPNS);
 *   no privilege. The default when the addon is built.
 * - ring: the native addon's AF_PACKET TPACKET_V3 ring (what libpcap, tcpdump and dumpcap use):
 *   the kernel fills blocks of frames in shared memory, one wake-up per block or block timeout.
 *   Needs CAP_NET_RAW. For the mirror ports, a classic BPF program keeps only UDP to them, and the
 *   listener takes the outer IPv4/IPv6 + UDP headers off; with `--interface` (no mirroring) every
 *   frame of the interface is the capture. A UDP socket that keeps nothing stays bound to each
 *   mirror port so that the kernel does not answer the datagrams with ICMP port unreachable.
 *
 * Every engine calls the listener (a ReceiveSink) synchronously per datagram / frame, with views
 * into a buffer valid only during the call, and `batchDone` after each read.
 */
import dgram from 'node:dgram';
import { loadNative, RING_META_WORDS, UDP_BATCH, UDP_META_WORDS, type NativeAddon, type NativeRing } from './native.js';
import { formatAddress } from './filter.js';

export type EngineName = 'socket' | 'mmsg' | 'ring';
export type PortKind = 'vxlan' | 'geneve';

export interface ReceiveSink {
  /**
   * A datagram whose IPv4 source is a number (mmsg, ring). `sec` > 0: the kernel's time of
   * arrival (mmsg, ring), else the listener reads the clock.
   */
  datagramV4(kind: PortKind, b: Uint8Array, off: number, len: number, source: number, port: number, sec: number, nsec: number): void;
  /** A datagram whose source is text (socket engine; IPv6). */
  datagramText(kind: PortKind, b: Uint8Array, off: number, len: number, source: string, port: number, sec: number, nsec: number): void;
  /** A frame from the packet ring (ARPHRD type, sll_pkttype, kernel time stamp). */
  ringFrame(b: Uint8Array, off: number, len: number, origLen: number, sec: number, nsec: number, pktType: number, arphrd: number): void;
  /** After each batch read (count of datagrams/frames in it), and whether the batch was full. */
  batchDone(n: number, full: boolean): void;
  notice(line: string): void;
}

export interface BoundSocket {
  kind: PortKind;
  address: string;
  port: number;
  family: string;
  recvBufferBytes: number;
}

export interface Engine {
  readonly name: EngineName;
  readonly bound: BoundSocket[];
  /** Ring engine: the interface ('' = all); its ARPHRD type. */
  readonly ring: { ifname: string; arphrd: number } | null;
  /** Frames the ring dropped because it was full (-1: no ring). */
  ringDrops(): number;
  stop(): Promise<void>;
}

export interface EngineOptions {
  bind: string[];
  vxlanPort: number;
  genevePort: number;
  recvBufferBytes: number;
  /** Share the port with other processes (workers): node:cluster for socket, SO_REUSEPORT for mmsg. */
  exclusive: boolean;
  /** Ring: interface to capture on ('' = all interfaces), bytes of ring, block timeout. */
  ifname?: string;
  ringBytes?: number;
  ringTimeoutMs?: number;
  /** Ring on an interface without mirroring: every frame (no port filter). */
  hostCapture?: boolean;
}

/** Addresses to bind: the given ones, else IPv6 dual-stack '::' (IPv4 '0.0.0.0' where no IPv6). */
function bindList(o: EngineOptions): (string | undefined)[] {
  return o.bind.length ? o.bind : [undefined];
}

function ports(o: EngineOptions): [PortKind, number][] {
  const out: [PortKind, number][] = [];
  if (o.vxlanPort !== 0) out.push(['vxlan', o.vxlanPort]);
  if (o.genevePort !== 0) out.push(['geneve', o.genevePort]);
  return out;
}

export class BindError extends Error {
  constructor(
    readonly kind: PortKind,
    readonly address: string,
    readonly port: number,
    override readonly cause: unknown,
  ) {
    super((cause as Error).message);
  }
}

function isNoV6(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL' || code === 'EINVAL';
}

// ---------------------------------------------------------------------------------------------
// socket: node:dgram

export async function startSocketEngine(o: EngineOptions, sink: ReceiveSink): Promise<Engine> {
  const sockets: dgram.Socket[] = [];
  const bound: BoundSocket[] = [];
  const bindOne = (kind: PortKind, type: 'udp4' | 'udp6', address: string, port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type, ipv6Only: false, recvBufferSize: o.recvBufferBytes });
      const onErr = (e: Error): void => {
        try {
          s.close();
        } catch {
          // ignore
        }
        reject(new BindError(kind, address, port, e));
      };
      s.once('error', onErr);
      s.bind({ port, address, exclusive: o.exclusive }, () => {
        s.off('error', onErr);
        s.on('error', (e) => sink.notice(`${kind} socket error: ${e.message}`));
        let rb = 0;
        try {
          rb = s.getRecvBufferSize();
        } catch {
          // not available
        }
        const info = s.address();
        bound.push({ kind, address: info.address, port: info.port, family: type, recvBufferBytes: rb });
        sockets.push(s);
        s.on('message', (m, r) => {
          sink.datagramText(kind, m, 0, m.length, r.address, r.port, 0, 0);
          noteDatagram();
        });
        resolve();
      });
    });
  // Receive batching: count this event-loop turn's datagrams; the check phase reports the batch.
  let inTurn = 0;
  let scheduled = false;
  const endTurn = (): void => {
    scheduled = false;
    const n = inTurn;
    inTurn = 0;
    sink.batchDone(n, n >= LIBUV_READS_PER_POLL);
  };
  const noteDatagram = (): void => {
    inTurn++;
    if (!scheduled) {
      scheduled = true;
      setImmediate(endTurn);
    }
  };
  const close = (): Promise<void> =>
    Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((res) => {
            s.removeAllListeners('message');
            try {
              s.close(() => res());
            } catch {
              res();
            }
          }),
      ),
    ).then(() => undefined);
  try {
    for (const [kind, port] of ports(o)) {
      for (const a of bindList(o)) {
        if (a !== undefined) await bindOne(kind, a.includes(':') ? 'udp6' : 'udp4', a, port);
        else {
          try {
            await bindOne(kind, 'udp6', '::', port);
          } catch (e) {
            if (!isNoV6((e as BindError).cause)) throw e;
            await bindOne(kind, 'udp4', '0.0.0.0', port);
          }
        }
      }
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { name: 'socket', bound, ring: null, ringDrops: () => -1, stop: close };
}

/**
 * libuv reads at most 32 datagrams from a UDP socket per poll (uv__udp_recvmsg); a batch with
 * fewer means the socket was drained, a full one that more may be waiting.
 */
const LIBUV_READS_PER_POLL = 32;

// ---------------------------------------------------------------------------------------------
// mmsg: recvmmsg through the addon

/** Largest UDP payload: datagrams are never cut by us. */
const SLOT = 65536;

/**
 * Batches read per readable callback before the event loop gets a turn. A flood faster than we
 * process keeps the socket (or ring) full: a drain "until empty" never returned, so timers (the
 * periodic flush, rotation, status) and signal handlers never ran, and SIGTERM could not stop
 * listen while the flood lasted. The poll is level-triggered: what is left is read next turn.
 */
export const BATCHES_PER_TURN = 16;

/**
 * At stop, the most datagrams read from a socket: what its receive buffer can hold (the kernel
 * charges each datagram its truesize, several hundred bytes at least). Datagrams queued when the
 * listener stops are kept; a sender still flooding refills the socket as fast as it is read, and
 * what arrives after the stop is not waited for.
 */
function stopDrainLimit(recvBufferBytes: number): number {
  return Math.ceil(recvBufferBytes / 256) + UDP_BATCH;
}

export function startMmsgEngine(o: EngineOptions, sink: ReceiveSink, addon: NativeAddon): Engine {
  const buf = new Uint8Array(SLOT * UDP_BATCH);
  const meta = new Int32Array(UDP_META_WORDS * UDP_BATCH);
  const socks: { fd: number; watch: object | null }[] = [];
  const bound: BoundSocket[] = [];
  const open = (kind: PortKind, family: 4 | 6, address: string, port: number): void => {
    let s;
    try {
      s = addon.udpOpen(family, address, port, o.recvBufferBytes, !o.exclusive, false);
    } catch (e) {
      throw new BindError(kind, address, port, e);
    }
    bound.push({ kind, address, port: s.port, family: family === 6 ? 'udp6' : 'udp4', recvBufferBytes: s.recvBufferBytes });
    const fd = s.fd;
    const entry = { fd, watch: null as object | null };
    socks.push(entry);
    entry.watch = addon.watch(fd, () => {
      // whole batches until the socket is empty, or BATCHES_PER_TURN of them (then the loop's turn)
      for (let batch = 0; batch < BATCHES_PER_TURN; batch++) {
        const n = addon.udpRecv(fd, buf, SLOT, meta);
        for (let i = 0; i < n; i++) {
          const m = i * UDP_META_WORDS;
          const len = meta[m]!;
          if (meta[m + 1] === 4) sink.datagramV4(kind, buf, i * SLOT, len, meta[m + 2]! >>> 0, meta[m + 6]!, meta[m + 8]! >>> 0, meta[m + 9]!);
          else sink.datagramText(kind, buf, i * SLOT, len, v6Text(meta, m + 2), meta[m + 6]!, meta[m + 8]! >>> 0, meta[m + 9]!);
        }
        if (n < UDP_BATCH) {
          sink.batchDone(n, false);
          return;
        }
        sink.batchDone(n, true);
      }
    });
  };
  try {
    for (const [kind, port] of ports(o)) {
      for (const a of bindList(o)) {
        if (a !== undefined) open(kind, a.includes(':') ? 6 : 4, a, port);
        else {
          try {
            open(kind, 6, '::', port);
          } catch (e) {
            if (!isNoV6((e as BindError).cause)) throw e;
            open(kind, 4, '0.0.0.0', port);
          }
        }
      }
    }
  } catch (e) {
    closeAll();
    throw e;
  }
  function closeAll(): void {
    for (const s of socks) {
      if (s.watch) addon.unwatch(s.watch);
      addon.closeFd(s.fd);
    }
    socks.length = 0;
  }
  return {
    name: 'mmsg',
    bound,
    ring: null,
    ringDrops: () => -1,
    stop: async () => {
      // what is queued in the sockets was received by the kernel for us: read it before closing
      // (as much as the receive buffer holds: not what a flood goes on sending)
      for (const [si, s] of socks.entries()) {
        const kind = bound[si]!.kind;
        for (let left = stopDrainLimit(bound[si]!.recvBufferBytes); left > 0; ) {
          const n = addon.udpRecv(s.fd, buf, SLOT, meta);
          left -= n;
          for (let i = 0; i < n; i++) {
            const m = i * UDP_META_WORDS;
            if (meta[m + 1] === 4) sink.datagramV4(kind, buf, i * SLOT, meta[m]!, meta[m + 2]! >>> 0, meta[m + 6]!, meta[m + 8]! >>> 0, meta[m + 9]!);
            else sink.datagramText(kind, buf, i * SLOT, meta[m]!, v6Text(meta, m + 2), meta[m + 6]!, meta[m + 8]! >>> 0, meta[m + 9]!);
          }
          if (n < UDP_BATCH) break;
        }
      }
      closeAll();
    },
  };
}

const v6Bytes = new Uint8Array(16);
function v6Text(meta: Int32Array, at: number): string {
  for (let w = 0; w < 4; w++) {
    const v = meta[at + w]!;
    v6Bytes[4 * w] = v >>> 24;
    v6Bytes[4 * w + 1] = (v >>> 16) & 0xff;
    v6Bytes[4 * w + 2] = (v >>> 8) & 0xff;
    v6Bytes[4 * w + 3] = v & 0xff;
  }
  return formatAddress(v6Bytes, 0, 16);
}

// ---------------------------------------------------------------------------------------------
// ring: AF_PACKET TPACKET_V3 through the addon

const BPF = { LD_H_ABS: 0x28, LD_B_ABS: 0x30, LDX_MSH: 0xb1, LD_H_IND: 0x48, JEQ: 0x15, JSET: 0x45, RET: 0x06 } as const;

/**
 * Classic BPF: Ethernet-framed UDP (IPv4 first fragments or unfragmented, IPv6 without extension
 * headers) to one of `ports`, or any IPv4 fragment with a later offset (so that the listener can
 * count fragmented mirror datagrams instead of never seeing them). Ring frames of interfaces
 * without an Ethernet header (tun) fail the EtherType test: use --interface on Ethernet or lo.
 */
export function udpPortsFilter(ports: number[]): Int32Array {
  const p = ports.slice(0, 2);
  while (p.length < 2) p.push(p[0]!);
  const prog: [number, number, number, number][] = [
    /* 0 */ [BPF.LD_H_ABS, 0, 0, 12],
    /* 1 */ [BPF.JEQ, 0, 8, 0x0800], // IPv4? else 10
    /* 2 */ [BPF.LD_B_ABS, 0, 0, 23],
    /* 3 */ [BPF.JEQ, 0, 13, 17], // UDP? else drop (17)
    /* 4 */ [BPF.LD_H_ABS, 0, 0, 20],
    /* 5 */ [BPF.JSET, 10, 0, 0x1fff], // later fragment: keep (16)
    /* 6 */ [BPF.LDX_MSH, 0, 0, 14],
    /* 7 */ [BPF.LD_H_IND, 0, 0, 16], // UDP destination port
    /* 8 */ [BPF.JEQ, 7, 0, p[0]!],
    /* 9 */ [BPF.JEQ, 6, 7, p[1]!],
    /* 10 */ [BPF.JEQ, 0, 6, 0x86dd], // IPv6? else drop
    /* 11 */ [BPF.LD_B_ABS, 0, 0, 20],
    /* 12 */ [BPF.JEQ, 0, 4, 17], // next header UDP? else drop
    /* 13 */ [BPF.LD_H_ABS, 0, 0, 56],
    /* 14 */ [BPF.JEQ, 1, 0, p[0]!],
    /* 15 */ [BPF.JEQ, 0, 1, p[1]!],
    /* 16 */ [BPF.RET, 0, 0, 0x40000],
    /* 17 */ [BPF.RET, 0, 0, 0],
  ];
  return Int32Array.from(prog.flat());
}

export function startRingEngine(o: EngineOptions, sink: ReceiveSink, addon: NativeAddon): Engine {
  const ifname = o.ifname ?? '';
  const ringBytes = o.ringBytes ?? 32 << 20;
  const blockSize = 1 << 20;
  const blocks = Math.max(2, Math.round(ringBytes / blockSize));
  const timeoutMs = o.ringTimeoutMs ?? 100;
  const filter = o.hostCapture ? null : udpPortsFilter(ports(o).map(([, p]) => p));
  let r: NativeRing;
  try {
    r = addon.ringOpen(ifname, blockSize, blocks, timeoutMs, filter);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint =
      err.code === 'EPERM'
        ? ` (a packet ring needs root or CAP_NET_RAW: run as root, or sudo setcap cap_net_raw+ep "$(readlink -f "$(which node)")"${o.hostCapture ? '' : '; without it: --engine mmsg'})`
        : '';
    throw new Error(`cannot open a packet ring${ifname ? ` on ${ifname}` : ''}: ${err.message}${hint}`);
  }
  // Keep the mirror ports bound (nothing queued) so the kernel sends no ICMP port unreachable.
  const holders: number[] = [];
  const bound: BoundSocket[] = [];
  if (!o.hostCapture) {
    try {
      for (const [kind, port] of ports(o)) {
        for (const a of bindList(o)) {
          const addr = a ?? '::';
          let s;
          try {
            s = addon.udpOpen(addr.includes(':') ? 6 : 4, addr, port, 0, !o.exclusive, true);
          } catch (e) {
            if (a === undefined && isNoV6(e)) s = addon.udpOpen(4, '0.0.0.0', port, 0, !o.exclusive, true);
            else throw new BindError(kind, addr, port, e);
          }
          holders.push(s.fd);
          bound.push({ kind, address: addr, port, family: 'ring', recvBufferBytes: blocks * blockSize });
        }
      }
    } catch (e) {
      for (const fd of holders) addon.closeFd(fd);
      addon.ringClose(r.handle);
      throw e;
    }
  }
  const buf = new Uint8Array(4 << 20);
  const meta = new Int32Array(RING_META_WORDS * 1024);
  /** Reads up to `reads` batches of frames; false when the ring still had more. */
  const drain = (reads: number): boolean => {
    for (let k = 0; k < reads; k++) {
      const n = addon.ringRead(r.handle, buf, meta);
      for (let i = 0; i < n; i++) {
        const m = i * RING_META_WORDS;
        sink.ringFrame(buf, meta[m]!, meta[m + 1]!, meta[m + 2]!, meta[m + 3]! >>> 0, meta[m + 4]!, meta[m + 5]!, meta[m + 6]!);
      }
      sink.batchDone(n, n === 1024);
      if (n < 1024) return true;
    }
    return false;
  };
  // At stop: at most what the ring holds (a frame takes 64 bytes of it at least), not a flood's sequel.
  const stopReads = Math.ceil((blocks * blockSize) / 64 / 1024) + 1;
  const watch = addon.watch(r.fd, () => void drain(BATCHES_PER_TURN));
  let dropsSeen = 0;
  return {
    name: 'ring',
    bound,
    ring: { ifname, arphrd: r.arphrd },
    ringDrops: () => {
      try {
        dropsSeen = addon.ringStats(r.handle).drops;
      } catch {
        // closed
      }
      return dropsSeen;
    },
    stop: async () => {
      // frames in the block the kernel is still filling become readable when it retires the
      // block (at the block timeout): wait for that, so nothing the ring received is lost
      drain(stopReads);
      await new Promise((res) => setTimeout(res, timeoutMs + 50));
      drain(stopReads);
      dropsSeen = addon.ringStats(r.handle).drops;
      addon.unwatch(watch);
      addon.ringClose(r.handle);
      for (const fd of holders) addon.closeFd(fd);
    },
  };
}

/**
 * The engine to run and why: `requested` 'auto' takes mmsg when the addon is there (else socket);
 * an explicit choice that cannot be had is an error naming why.
 */
export function chooseEngine(requested: 'auto' | EngineName, hostCapture: boolean): { name: EngineName; why: string; addon: NativeAddon | null } {
  const { addon, why } = loadNative();
  if (hostCapture || requested === 'ring') {
    if (!addon) throw new Error(`the packet ring needs the native addon, and ${why}`);
    return { name: 'ring', why: hostCapture ? 'capturing on an interface needs the packet ring' : '--engine ring', addon };
  }
  if (requested === 'socket') return { name: 'socket', why: '--engine socket', addon: null };
  if (requested === 'mmsg') {
    if (!addon) throw new Error(`--engine mmsg needs the native addon, and ${why}`);
    return { name: 'mmsg', why: '--engine mmsg', addon };
  }
  if (addon) return { name: 'mmsg', why: 'the default: recvmmsg batches, no privilege needed', addon };
  return { name: 'socket', why: `the fallback: ${why}`, addon: null };
}
