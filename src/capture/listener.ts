/**
 * The mirror target: UDP listeners for VXLAN (AWS VPC Traffic Mirroring, 4789) and GENEVE (AWS
 * Gateway Load Balancer, 6081) that decapsulate and write rotating pcapng (see docs/listen.md).
 *
 * Per datagram (all synchronous, nothing allocated on the common path beyond Node's own message
 * buffer and rinfo):
 *   source allow-list → VXLAN / GENEVE header check → (GWLB: the inner IP packet may itself be a
 *   Traffic Mirroring VXLAN datagram: decapsulate it too) → capture point (one pcapng interface
 *   per VNI / GWLB endpoint and mirror source, created on first sight) → direction relative to
 *   the mirrored ENI → mirror filter → EPB written (epb_flags carry the direction).
 *
 * A packet is counted in `metrics.packets` only once its block is in the writer; SIGTERM closes
 * the sockets, then flushes and closes the file, so every counted packet is in a file (unless the
 * disk was full with nothing left to delete: those are counted in `lostAtFlush`).
 */
import type dgram from 'node:dgram';
import { unlinkSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { VxlanView } from '../wire/vxlan.js';
import { GeneveView } from '../wire/geneve.js';
import { LinkType, EtherType } from '../wire/link.js';
import { Status } from '../wire/status.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { MirrorDirection, formatAddress, mirrorFilterKeeps, parseCidr, type Cidr, type MirrorFilter } from './filter.js';
import { FrameClassifier, bytesEqual } from './listen-classify.js';
import { RotatingCapture } from './rotate.js';
import { EpbFlags, SecretsType } from './pcapng-writer.js';
import { KeylogFollower } from './listen-keylog.js';
import { moveSecretsFirst } from './secrets-first.js';
import { DropReason, ListenMetrics, readKernelUdpDrops, renderStatusLine, startMetricsServer, type PointCounters } from './metrics.js';
import { BindError, chooseEngine, startMmsgEngine, startRingEngine, startSocketEngine, type BoundSocket, type Engine, type EngineName, type PortKind, type ReceiveSink } from './listen-engines.js';
import { NoticeLimiter, noTrafficChecklist, truncationAdvice } from './listen-notices.js';
import { PacketType } from './native.js';

export type PacketComments = 'none' | 'gwlb' | 'all';

export interface ListenOptions {
  /** Output directory (must exist). */
  outDir: string;
  /** Addresses to bind; empty = all (IPv6 dual-stack '::', falling back to 0.0.0.0). */
  bind?: string[];
  /** UDP port for VXLAN; 0 = off. Default 4789. */
  vxlanPort?: number;
  /** UDP port for GENEVE; 0 = off. Default 6081. */
  genevePort?: number;
  /**
   * Names of capture points: key = VNI (decimal, VXLAN or GENEVE) or GWLB endpoint ("vpce-<hex>").
   */
  sessions?: Map<string, string>;
  /** Drop packets of VNIs / endpoints not in `sessions`. */
  onlyKnownSessions?: boolean;
  filter?: MirrorFilter;
  /** Only datagrams from these sources are decoded (empty = all). */
  allowSources?: Cidr[];
  rotateBytes?: number;
  rotateSeconds?: number;
  ringFiles?: number;
  ringBytes?: number;
  /** TLS key log to follow; its lines go into the current file as Decryption Secrets Blocks. */
  keylog?: string;
  /** A new file starts with the key-log lines read in this many seconds before it (default 60). */
  keylogCarrySeconds?: number;
  /** Bytes kept per inner packet (0 = all). */
  snaplen?: number;
  /** Requested SO_RCVBUF in bytes (default 32 MiB; the kernel caps it at net.core.rmem_max). */
  recvBufferBytes?: number;
  /** Per-packet comments: none, only GWLB flow cookies (default), or all outer metadata. */
  packetComments?: PacketComments;
  /** File name prefix (default "mirrorlens"). */
  prefix?: string;
  /** File name suffix after the time stamp (workers: "-w1", ...). */
  fileSuffix?: string;
  /**
   * Bind exclusively (default true). false: in a node:cluster worker the socket is shared with
   * the other workers (the kernel hands each datagram to one of them).
   */
  exclusive?: boolean;
  /** Prometheus endpoint port (undefined = none). */
  metricsPort?: number;
  metricsHost?: string;
  /** Upper bound of capture points (pcapng interfaces), against VNI floods. Default 4096. */
  maxCapturePoints?: number;
  /** Writer buffer flush period (default 1000 ms): how stale a file being written can be. */
  flushIntervalMs?: number;
  /** Status line period (default 5000 ms; 0 = none). */
  statusIntervalMs?: number;
  /** Writer buffer size (default 1 MiB). */
  bufferSize?: number;
  /**
   * Receive batching (0 = off, the default here; `mirrorlens listen` uses 2): after a batch of
   * datagrams that emptied the socket, the thread sleeps this long before it polls again, so the
   * datagrams arriving meanwhile are read in one batch instead of one wake-up each. Wake-ups
   * (epoll, context switches) were most of the CPU per datagram at 10-20k datagrams/s
   * (docs/listen.md "Performance"); the cost is up to this much latency, and the socket buffer
   * holds the datagrams meanwhile. Off by default in the library because the sleep blocks the
   * whole thread: an application embedding the listener opts in when its thread is a capture one.
   */
  batchWaitMs?: number;
  /**
   * How packets are taken from the kernel (docs/listen.md "Engines"): 'auto' (default) = 'mmsg'
   * when the native addon was built, else 'socket'; 'ring' = AF_PACKET TPACKET_V3 (CAP_NET_RAW).
   */
  engine?: 'auto' | EngineName;
  /**
   * Capture on this host interface itself (no mirroring; the packet ring): every frame of the
   * interface, one capture point `host-IFNAME`, direction from the kernel (outgoing = egress).
   * With engine 'ring' and no interface, the ring captures the mirror ports on all interfaces.
   */
  interface?: string;
  /** Bytes of the packet ring (default 32 MiB). */
  packetRingBytes?: number;
  /**
   * Seconds without any datagram before a checklist of why nothing arrives is printed (once);
   * default 30, 0 = never.
   */
  noTrafficSeconds?: number;
  /** Notices (start-up, disk full, key log issues): one line each. */
  onNotice?: (line: string) => void;
  /** Status lines (every statusIntervalMs). */
  onStatus?: (line: string) => void;
  /**
   * Every decapsulated frame that was kept and written, with its capture point's name (live
   * analysis: `listen --analyze`). The bytes are valid only during the call.
   */
  onFrame?: (linkType: number, tsSec: number, tsNsec: number, data: Uint8Array, offset: number, length: number, originalLength: number, capturePoint: string) => void;
}

interface SourceEntry {
  /** Key in the sources map (IPv4 as a number from the native engines, else the text). */
  key: number | string;
  ok: boolean;
  /** 4 or 16 address bytes. */
  addr: Uint8Array;
  text: string;
  /** VXLAN capture points by VNI. */
  vxlan: Map<number, CapturePoint>;
  /** GENEVE capture points by composite key. */
  geneve: Map<string, CapturePoint>;
}

interface CapturePoint {
  name: string;
  description: string;
  linkType: number;
  /** The mirrored ENI's primary IP (mirror source), for ingress/egress; null when unknown. */
  eniIp: Uint8Array | null;
  eniIpText: string;
  /** Learned MAC of the mirrored ENI (dst of ingress, src of egress frames). */
  eniMac: Uint8Array;
  eniMacKnown: boolean;
  ifId: number;
  generation: number;
  counters: PointCounters;
  /** Comment prefix for packet comments ('' = none). */
  commentPrefix: string;
  /** Named with --session: never evicted. */
  known: boolean;
  /** metrics.datagrams when last used (least recently used unknown points are evicted first). */
  lastUsed: number;
  src: SourceEntry | null;
  /** Key in its source's vxlan or geneve map, and in metrics.points. */
  mapKey: number | string;
  metricsKey: string;
}

const VXLAN_PORT = 4789;

/** ARPHRD_* link types (linux/if_arp.h) the packet ring reports. */
const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;
const ARPHRD_NONE = 65534;
const ARPHRD_IPGRE = 778;
const ARPHRD_TUNNEL = 768;
const ARPHRD_TUNNEL6 = 769;
const ARPHRD_SIT = 776;

/** Sources kept without any capture point before those are forgotten. */
const MAX_IDLE_SOURCES = 65536;

/** Normalises "vpce-0123abc" / "0x0123abc" / "123abc" to lower-case hex without leading zeros. */
function normEndpoint(s: string): string {
  return s.toLowerCase().replace(/^vpce-/, '').replace(/^0x/, '').replace(/^0+(?=.)/, '');
}

function addrText(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export class MirrorListener {
  readonly metrics = new ListenMetrics();
  /** Addresses actually bound ("udp4 0.0.0.0:4789 vxlan", ...). */
  readonly bound: BoundSocket[] = [];
  /** The receive engine running and why it was chosen (after start). */
  engineInfo: { name: EngineName; why: string } = { name: 'socket', why: '' };

  private readonly o: ListenOptions;
  private engine: Engine | null = null;
  private readonly sources = new Map<number | string, SourceEntry>();
  private readonly sessionNames = new Map<string, string>();
  private readonly vxlan = new VxlanView();
  private readonly vxlanInner = new VxlanView();
  private readonly geneve = new GeneveView();
  private readonly cls = new FrameClassifier();
  private readonly midCls = new FrameClassifier();
  private rc: RotatingCapture | null = null;
  private keylog: KeylogFollower | null = null;
  private metricsServer: Server | null = null;
  private timers: ReturnType<typeof setInterval>[] = [];
  private knownPoints = 0;
  private unknownPoints = 0;
  /** `--interface`: the one capture point, its link type by ARPHRD. */
  private hostPoint: CapturePoint | null = null;
  private readonly outerCls = new FrameClassifier();
  private readonly notices: NoticeLimiter;
  private truncationAdvised = false;
  /** Kernel time of arrival of the datagram being handled (mmsg, ring; 0: none, read the clock). */
  private frameSec = 0;
  private frameNsec = 0;
  private readonly lateSecretFiles = new Set<string>();
  private readonly secretMoves = new Set<Promise<void>>();
  private stopped = false;
  private readonly t0Ms = performance.timeOrigin;
  private readonly snaplen: number;
  private readonly comments: PacketComments;
  private readonly allow: Cidr[];
  private readonly statusPrev = { t: Date.now(), packets: 0, bytes: 0 };
  private readonly batchWaitMs: number;
  /** Atomics.wait needs a shared cell; nobody ever notifies it, so the wait always times out. */
  private readonly batchSleepCell = new Int32Array(new SharedArrayBuffer(4));

  constructor(o: ListenOptions) {
    this.o = o;
    this.snaplen = o.snaplen ?? 0;
    this.comments = o.packetComments ?? 'gwlb';
    this.allow = o.allowSources ?? [];
    this.batchWaitMs = o.batchWaitMs ?? 0;
    if (!(this.batchWaitMs >= 0 && this.batchWaitMs <= 100)) throw new RangeError(`batchWaitMs must be 0..100, got ${o.batchWaitMs}`);
    for (const [k, v] of o.sessions ?? new Map<string, string>()) {
      this.sessionNames.set(/^\d+$/.test(k) ? String(Number(k)) : `vpce-${normEndpoint(k)}`, v);
    }
    this.notices = new NoticeLimiter((l) => o.onNotice?.(l));
  }

  /** Opens the first file, binds the sockets, starts timers / key log / metrics. */
  async start(): Promise<void> {
    const o = this.o;
    const notice = (l: string): void => o.onNotice?.(l);
    const vx = o.vxlanPort ?? VXLAN_PORT;
    const gn = o.genevePort ?? 6081;
    const host = o.interface !== undefined && o.interface !== '';
    if (vx === 0 && gn === 0 && !host) throw new MirrorlensError(ErrorCode.Usage, 'listen: both --vxlan-port and --geneve-port are 0: nothing to listen on');
    let chosen: ReturnType<typeof chooseEngine>;
    try {
      chosen = chooseEngine(o.engine ?? 'auto', host);
    } catch (e) {
      throw new MirrorlensError(ErrorCode.Usage, `listen: ${(e as Error).message}`);
    }
    this.engineInfo = { name: chosen.name, why: chosen.why };
    if (o.keylog) {
      this.keylog = new KeylogFollower(
        o.keylog,
        (text, count) => {
          const rc = this.rc;
          if (!rc) return;
          const bytes = Buffer.from(text, 'latin1');
          if (rc.guard(() => rc.writer.writeSecrets(SecretsType.TLSKeyLog, bytes))) {
            this.metrics.secrets += count;
            // Keys that came after packets: the file gets its secrets moved first when closed.
            if (rc.writer.packets > 0) this.lateSecretFiles.add(rc.path);
          }
        },
        { onIssue: notice, carrySeconds: o.keylogCarrySeconds },
      );
    }
    this.rc = new RotatingCapture({
      dir: o.outDir,
      prefix: o.prefix,
      suffix: o.fileSuffix,
      rotateBytes: o.rotateBytes,
      rotateSeconds: o.rotateSeconds,
      ringFiles: o.ringFiles,
      ringBytes: o.ringBytes,
      bufferSize: o.bufferSize,
      shb: {
        userAppl: 'mirrorlens listen',
        comment: host ? `captured on host interface ${o.interface} (no mirroring)` : 'decapsulated VPC Traffic Mirroring (VXLAN) / GWLB (GENEVE) traffic',
      },
      onOpen: (w) => {
        this.metrics.files++;
        // Each file starts with the TLS secrets read in the last minute (keylogCarrySeconds):
        // those of handshakes whose packets may still come; older ones are in earlier files.
        const carried = this.keylog?.carriedText();
        if (carried) w.writeSecrets(SecretsType.TLSKeyLog, Buffer.from(carried, 'latin1'));
      },
      onClose: (path) => {
        if (!this.lateSecretFiles.delete(path)) return;
        const job = moveSecretsFirst(path).then(
          () => undefined,
          (e: unknown) => notice(`listen: could not move the TLS secrets to the front of ${path}: ${(e as Error).message}`),
        );
        this.secretMoves.add(job);
        void job.then(() => this.secretMoves.delete(job));
      },
      onEvent: (kind, msg) => {
        if (kind === 'ring-delete') this.metrics.filesDeleted++;
        if (kind === 'disk-full') this.metrics.diskFull++;
        notice(msg);
      },
    });
    this.rc.open();
    // The key log's current content goes into the first file (onOpen ran before it was read).
    if (this.keylog) this.keylog.start();

    const eo = {
      bind: o.bind ?? [],
      vxlanPort: host ? 0 : vx,
      genevePort: host ? 0 : gn,
      recvBufferBytes: o.recvBufferBytes ?? 32 << 20,
      exclusive: o.exclusive ?? true,
      ifname: o.interface ?? '',
      ringBytes: o.packetRingBytes,
      hostCapture: host,
    };
    try {
      const addon = chosen.addon;
      this.engine =
        chosen.name === 'ring' ? startRingEngine(eo, this.sink, addon!) : chosen.name === 'mmsg' ? startMmsgEngine(eo, this.sink, addon!) : await startSocketEngine(eo, this.sink);
      this.bound.push(...this.engine.bound);
      if (host) this.hostPoint = this.makeHostPoint(o.interface!, this.engine.ring?.arphrd ?? -1);
    } catch (e) {
      await this.stop();
      this.discardUnusedFile();
      if (e instanceof BindError) throw this.bindError(e.kind, e.address, e.port, e.cause);
      if (e instanceof MirrorlensError) throw e;
      throw new MirrorlensError(ErrorCode.Listen, (e as Error).message);
    }
    for (const b of this.bound) {
      const want = o.recvBufferBytes ?? 32 << 20;
      if (b.family !== 'ring' && b.recvBufferBytes < want) {
        notice(
          `receive buffer of ${b.kind} socket is ${b.recvBufferBytes} bytes, less than the ${want} asked: the kernel caps it at net.core.rmem_max ` +
            `(raise it: sysctl -w net.core.rmem_max=${want}) - bursts may be dropped by the kernel (see kernel-drops)`,
        );
      }
    }
    if (o.metricsPort !== undefined) {
      try {
        this.metricsServer = await startMetricsServer(this.metrics, o.metricsPort, o.metricsHost);
      } catch (e) {
        await this.stop();
        this.discardUnusedFile();
        throw new MirrorlensError(ErrorCode.Listen, `cannot serve metrics on port ${o.metricsPort}: ${(e as Error).message}`);
      }
    }
    const flushMs = o.flushIntervalMs ?? 1000;
    this.timers.push(
      setInterval(() => {
        const rc = this.rc;
        if (!rc) return;
        rc.flush();
        rc.tick();
        this.metrics.lostAtFlush = rc.packetsLost;
        this.metrics.diskBytes = rc.totalBytes;
        this.notices.tick();
      }, flushMs),
    );
    const statusMs = o.statusIntervalMs ?? 5000;
    const ports = host || chosen.name === 'ring' ? [] : [vx, gn];
    const readDrops = (): void => {
      if (ports.length) this.metrics.kernelDrops = readKernelUdpDrops(ports);
      const rd = this.engine?.ringDrops() ?? -1;
      if (rd >= 0) this.metrics.ringDrops = rd;
    };
    readDrops();
    this.timers.push(setInterval(readDrops, Math.min(statusMs || 2000, 2000)));
    const quietS = o.noTrafficSeconds ?? 30;
    if (quietS > 0) {
      const t = setTimeout(() => {
        if (this.metrics.datagrams === 0 && !this.stopped) for (const l of noTrafficChecklist(quietS, this.bound, o.interface)) o.onNotice?.(l);
      }, quietS * 1000);
      t.unref();
      this.timers.push(t);
    }
    if (statusMs > 0 && o.onStatus) {
      const f = o.onStatus;
      this.timers.push(setInterval(() => f(renderStatusLine(this.metrics, this.statusPrev)), statusMs));
    }
  }

  /** After a failed start: the first file holds no packet, so it is removed again. */
  private discardUnusedFile(): void {
    const rc = this.rc;
    if (rc && rc.filesOpened === 1 && rc.writer.packets === 0 && rc.path) {
      try {
        unlinkSync(rc.path);
      } catch {
        // leave it
      }
    }
  }

  /** Path of the file being written. */
  get currentFile(): string {
    return this.rc?.path ?? '';
  }

  /** Bytes written to the current file so far: where the next block will start. */
  get currentFileBytes(): number {
    return this.rc?.writer.bytesWritten ?? 0;
  }

  /** Files on disk (oldest first). */
  files(): { path: string; bytes: number }[] {
    return this.rc ? this.rc.files() : [];
  }

  /** Metrics server address (after start with metricsPort). */
  get metricsAddress(): AddressInfo | null {
    return (this.metricsServer?.address() as AddressInfo | null) ?? null;
  }

  /**
   * Stops receiving (sockets closed first, so nothing more is counted), reads the key log a last
   * time, flushes and closes the current file. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // last kernel drop count while our sockets still exist (their /proc lines vanish on close)
    if (this.engineInfo.name !== 'ring' && !this.hostPoint) {
      const kd = readKernelUdpDrops([this.o.vxlanPort ?? VXLAN_PORT, this.o.genevePort ?? 6081]);
      if (kd >= 0) this.metrics.kernelDrops = kd;
    }
    if (this.engine) {
      const e = this.engine;
      this.engine = null;
      await e.stop();
      const rd = e.ringDrops();
      if (rd >= 0) this.metrics.ringDrops = rd;
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.keylog?.stop();
    if (this.rc) {
      this.rc.close();
      this.metrics.lostAtFlush = this.rc.packetsLost;
    }
    // Files whose keys arrived after their first packets: secrets first, for Wireshark.
    await Promise.all([...this.secretMoves]);
    if (this.metricsServer) {
      const srv = this.metricsServer;
      this.metricsServer = null;
      srv.closeAllConnections();
      await new Promise<void>((res) => srv.close(() => res()));
    }
  }

  /** Final summary line. */
  summary(): string {
    return renderStatusLine(this.metrics, { t: this.metrics.startedAt, packets: 0, bytes: 0 });
  }

  // ---------------------------------------------------------------------------------------------
  // sockets

  private bindError(kind: string, addr: string, port: number, e: unknown): MirrorlensError {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? ' (another process listens there; pick another port or stop it)' : code === 'EACCES' ? ' (ports below 1024 need privileges)' : '';
    return new MirrorlensError(ErrorCode.Listen, `cannot listen for ${kind.toUpperCase()} on UDP ${addr.includes(':') ? `[${addr}]` : addr}:${port}: ${(e as Error).message}${hint}`);
  }

  /** What the engines call: per datagram / frame, and after each batch. */
  private readonly sink: ReceiveSink = {
    datagramV4: (kind, b, off, len, source, port, sec, nsec) => {
      let src = this.sources.get(source);
      if (src === undefined) src = this.newSource(source, new Uint8Array([source >>> 24, (source >>> 16) & 0xff, (source >>> 8) & 0xff, source & 0xff]));
      this.frameSec = sec;
      this.frameNsec = nsec;
      if (kind === 'vxlan') this.vxlanAt(b, off, len, src, port);
      else this.geneveAt(b, off, len, src, port);
      this.frameSec = 0;
    },
    datagramText: (kind, b, off, len, source, port, sec, nsec) => {
      const src = this.source(source);
      this.frameSec = sec;
      this.frameNsec = nsec;
      if (kind === 'vxlan') this.vxlanAt(b, off, len, src, port);
      else this.geneveAt(b, off, len, src, port);
      this.frameSec = 0;
    },
    ringFrame: (b, off, len, origLen, sec, nsec, pktType, arphrd) => this.ringFrame(b, off, len, origLen, sec, nsec, pktType, arphrd),
    batchDone: (n, full) => this.endBatch(n, full),
    notice: (l) => this.o.onNotice?.(l),
  };

  /**
   * After a batch that drained the socket: sleep batchWaitMs (blocking the thread on purpose, like
   * a NIC's interrupt coalescing or tcpdump's ring block timeout) so that the next poll returns
   * many datagrams at once. Timers, signals and the metrics endpoint wait at most that long.
   */
  private endBatch(n: number, full: boolean): void {
    if (this.batchWaitMs === 0 || full || this.stopped || n === 0) return;
    Atomics.wait(this.batchSleepCell, 0, 0, this.batchWaitMs);
  }

  // ---------------------------------------------------------------------------------------------
  // per datagram

  private source(address: string): SourceEntry {
    const e = this.sources.get(address);
    if (e !== undefined) return e;
    const text = addrText(address);
    let addr: Uint8Array;
    try {
      addr = parseCidr(text).address;
    } catch {
      addr = new Uint8Array(4);
    }
    return this.newSource(address, addr);
  }

  private newSource(key: number | string, addr: Uint8Array): SourceEntry {
    // A flood from many (spoofed) sources: forget those that hold no capture point.
    if (this.sources.size >= MAX_IDLE_SOURCES) {
      for (const [k, v] of this.sources) if (v.vxlan.size === 0 && v.geneve.size === 0) this.sources.delete(k);
    }
    let ok = this.allow.length === 0;
    for (const c of this.allow) {
      if (c.family === (addr.length === 4 ? 4 : 6) && cidrHas(c, addr)) {
        ok = true;
        break;
      }
    }
    const e: SourceEntry = { key, ok, addr, text: formatAddress(addr, 0, addr.length), vxlan: new Map(), geneve: new Map() };
    this.sources.set(key, e);
    return e;
  }

  /** Handles one VXLAN datagram (exposed for tests and for feeding datagrams from elsewhere). */
  onVxlan(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.vxlanAt(msg, 0, msg.length, this.source(rinfo.address), rinfo.port);
  }

  /** Handles one GENEVE datagram. */
  onGeneve(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.geneveAt(msg, 0, msg.length, this.source(rinfo.address), rinfo.port);
  }

  private vxlanAt(msg: Uint8Array, o0: number, len: number, src: SourceEntry, srcPort: number): void {
    const m = this.metrics;
    m.datagrams++;
    m.datagramBytes += len;
    if (!src.ok) return m.drop(DropReason.SourceNotAllowed);
    const v = this.vxlan;
    if (v.check(msg, o0, len) !== Status.Ok || !v.vniValid) return m.drop(DropReason.NotVxlan);
    const vni = v.vni;
    let p = src.vxlan.get(vni);
    if (p === undefined) {
      // a new capture point only for what is plausibly a mirror frame: an inner frame that
      // decodes (AWS mirrors IP traffic only). Reserved VXLAN fields are ignored on receipt
      // (RFC 7348 section 5), and some senders set them.
      const plausible = this.innerDecodes(LinkType.Ethernet, msg, o0 + 8, len - 8);
      p = this.newPoint(src, vni, src.vxlan, plausible, String(vni), () => this.vxlanPoint(src, vni));
      if (p === undefined) return;
    }
    p.lastUsed = m.datagrams;
    const comment = this.comments === 'all' ? `${p.commentPrefix} src_port=${srcPort}` : null;
    this.emit(p, LinkType.Ethernet, msg, o0 + 8, len - 8, comment, -1, this.frameSec, this.frameNsec);
  }

  private geneveAt(msg: Uint8Array, o0: number, dlen: number, src: SourceEntry, srcPort: number): void {
    const m = this.metrics;
    m.datagrams++;
    m.datagramBytes += dlen;
    if (!src.ok) return m.drop(DropReason.SourceNotAllowed);
    const g = this.geneve;
    if (g.check(msg, o0, dlen) !== Status.Ok) return m.drop(DropReason.NotGeneve);
    const end = o0 + dlen;
    const pt = g.protocolType;
    let off = o0 + g.headerLength;
    let linkType: number;
    if (pt === EtherType.TransparentEthernet) linkType = LinkType.Ethernet;
    else if (pt === EtherType.Ipv4 || pt === EtherType.Ipv6) linkType = LinkType.Raw;
    else return m.drop(DropReason.GeneveProtocol);
    // GWLB in front of Traffic Mirroring: the inner IP packet is a VXLAN datagram to 4789.
    let innerVni = -1;
    let midSrc: Uint8Array | null = null;
    let midSrcOff = 0;
    let midFamily = 0;
    if (linkType === LinkType.Raw) {
      const c = this.midCls;
      const fam = c.classify(LinkType.Raw, msg, off, end - off);
      if (fam !== 0 && c.packet.protocol === 17 && c.packet.dstPort === VXLAN_PORT && c.l4Length >= 16) {
        const vo = c.l4Offset + 8;
        if (this.vxlanInner.check(msg, vo, end - vo) === Status.Ok && this.vxlanInner.vniValid) {
          innerVni = this.vxlanInner.vni;
          midSrc = msg;
          midSrcOff = c.packet.srcAddrOffset;
          midFamily = fam;
          off = vo + 8;
          linkType = LinkType.Ethernet;
        }
      }
    }
    const key = g.hasGwlb
      ? `${g.gwlbEndpointIdHi}:${g.gwlbEndpointIdLo}:${g.gwlbAttachmentIdHi}:${g.gwlbAttachmentIdLo}:${g.vni}:${innerVni}:${midSrc ? addrKey(midSrc, midSrcOff, midFamily) : ''}`
      : `${g.vni}:${innerVni}:${midSrc ? addrKey(midSrc, midSrcOff, midFamily) : ''}:${linkType}`;
    let p = src.geneve.get(key);
    if (p === undefined) {
      const eni = midSrc ? midSrc.slice(midSrcOff, midSrcOff + (midFamily === 4 ? 4 : 16)) : null;
      const lt = linkType;
      const plausible = this.innerDecodes(linkType, msg, off, end - off);
      p = this.newPoint(src, key, src.geneve, plausible, key, () => this.genevePoint(src, g, innerVni, eni, lt));
      if (p === undefined) return;
    }
    p.lastUsed = m.datagrams;
    let comment: string | null = null;
    if (this.comments === 'all' || (this.comments === 'gwlb' && g.hasGwlb)) {
      comment = `${p.commentPrefix}${g.hasGwlb ? ` gwlb_flow_cookie=0x${g.gwlbFlowCookieHex()}` : ''}${this.comments === 'all' ? ` src_port=${srcPort}` : ''}`;
    }
    this.emit(p, linkType, msg, off, end - off, comment, -1, this.frameSec, this.frameNsec);
  }

  /** Does this inner frame decode as a mirrored packet (IPv4/IPv6, or ARP)? */
  private innerDecodes(linkType: number, b: Uint8Array, off: number, len: number): boolean {
    if (this.outerCls.classify(linkType, b, off, len) !== 0) return true;
    return linkType === LinkType.Ethernet && len >= 28 && b[off + 12] === 0x08 && b[off + 13] === 0x06;
  }

  /**
   * A frame from the packet ring. With --interface it is the capture itself (direction from the
   * kernel); otherwise a UDP datagram to a mirror port whose outer headers are taken off here.
   */
  private ringFrame(b: Uint8Array, off: number, len: number, origLen: number, sec: number, nsec: number, pktType: number, arphrd: number): void {
    // lo hands a packet socket each packet twice, outgoing and incoming: keep one (as libpcap)
    if (arphrd === ARPHRD_LOOPBACK && pktType === PacketType.Outgoing) return;
    const hp = this.hostPoint;
    if (hp !== null) {
      const m = this.metrics;
      m.datagrams++;
      m.datagramBytes += len;
      const dir = pktType === PacketType.Outgoing ? MirrorDirection.Egress : pktType === PacketType.OtherHost ? MirrorDirection.Unknown : MirrorDirection.Ingress;
      this.emit(hp, hp.linkType, b, off, len, null, dir, sec, nsec, origLen);
      return;
    }
    // mirror ports: only what this host received (not VXLAN it sends itself, e.g. a replay)
    if (pktType === PacketType.Outgoing) return;
    const lt = arphrd === ARPHRD_ETHER || arphrd === ARPHRD_LOOPBACK ? LinkType.Ethernet : LinkType.Raw;
    const c = this.outerCls;
    const fam = c.classify(lt, b, off, len);
    const fp = c.packet;
    if (fam === 0 || fp.protocol !== 17) return;
    // the socket engines get fragmented datagrams reassembled by the kernel; the ring does not
    if (c.laterFragment || (fam === 4 && (b[c.ipOffset + 6]! & 0x20) !== 0)) {
      this.metrics.datagrams++;
      return this.metrics.drop(DropReason.OuterFragment);
    }
    if (c.l4Length < 8) return;
    const q = c.l4Offset;
    const udpLen = (b[q + 4]! << 8) | b[q + 5]!;
    const dlen = Math.min(udpLen, c.l4Length) - 8;
    if (dlen < 0) return;
    const port = fp.srcPort;
    const dst = fp.dstPort;
    const kind: PortKind | null = dst === (this.o.vxlanPort ?? VXLAN_PORT) ? 'vxlan' : dst === (this.o.genevePort ?? 6081) ? 'geneve' : null;
    if (kind === null) return;
    const a = fp.srcAddrOffset;
    // the ring's kernel time stamp (time of arrival, and cheaper than reading the clock)
    if (fam === 4) this.sink.datagramV4(kind, b, q + 8, dlen, ((b[a]! << 24) | (b[a + 1]! << 16) | (b[a + 2]! << 8) | b[a + 3]!) >>> 0, port, sec, nsec);
    else this.sink.datagramText(kind, b, q + 8, dlen, formatAddress(b, a, 16), port, sec, nsec);
  }

  private makeHostPoint(ifname: string, arphrd: number): CapturePoint {
    let lt: number;
    if (arphrd === ARPHRD_ETHER || arphrd === ARPHRD_LOOPBACK) lt = LinkType.Ethernet;
    else if (arphrd === ARPHRD_NONE || arphrd === ARPHRD_IPGRE || arphrd === ARPHRD_TUNNEL || arphrd === ARPHRD_TUNNEL6 || arphrd === ARPHRD_SIT) lt = LinkType.Raw;
    else throw new MirrorlensError(ErrorCode.Usage, `listen: --interface ${ifname}: link type ${arphrd} (ARPHRD) is not supported; Ethernet, loopback and IP tunnels are`);
    const p = this.point(`host-${ifname}`, `captured on host interface ${ifname} (no mirroring); direction from the kernel: outgoing = egress`, lt, null, '', `interface=${ifname}`, true, ifname);
    p.metricsKey = `host|${ifname}`;
    this.metrics.points.set(p.metricsKey, p.counters);
    this.o.onNotice?.(`capture point ${p.name}: ${p.description}`);
    return p;
  }

  /**
   * A capture point for a new VNI / endpoint, or undefined when the datagram is counted and
   * dropped instead: ignored (--only-known-sessions), implausible, or over the bound of named
   * points. Unnamed points are bounded by maxCapturePoints and the least recently used are
   * evicted; named ones (--session) are never evicted.
   */
  private newPoint<K>(src: SourceEntry, key: K, map: Map<K, CapturePoint>, plausible: boolean, label: string, make: () => CapturePoint): CapturePoint | undefined {
    const m = this.metrics;
    if (!plausible) {
      m.drop(DropReason.Implausible);
      return undefined;
    }
    const p = make();
    if (!p.known && this.o.onlyKnownSessions) {
      m.drop(DropReason.UnknownSession);
      this.notices.say('ignored', `ignoring ${p.name} (not named with --session, and --only-known-sessions): ${p.description}`, 'ignored datagrams of unnamed sessions');
      return undefined;
    }
    const max = this.o.maxCapturePoints ?? 4096;
    if (p.known) {
      if (this.knownPoints >= max) {
        m.drop(DropReason.TooManyCapturePoints);
        this.notices.say('too-many', `more than ${max} capture points of named sessions (VNI / source combinations); packets of new ones are dropped (--max-capture-points)`, 'datagrams dropped: too many capture points');
        return undefined;
      }
      this.knownPoints++;
    } else {
      if (this.unknownPoints >= max) this.evict(max);
      this.unknownPoints++;
    }
    p.src = src;
    p.mapKey = label;
    p.metricsKey = `${src.text}|${label}`;
    map.set(key, p);
    m.points.set(p.metricsKey, p.counters);
    m.capturePoints = this.knownPoints + this.unknownPoints;
    this.notices.say('new-point', `new capture point ${p.name}: ${p.description}`, 'new capture points');
    return p;
  }

  /** Evicts the least recently used eighth of the unnamed capture points. */
  private evict(max: number): void {
    const all: CapturePoint[] = [];
    for (const s of this.sources.values()) {
      for (const p of s.vxlan.values()) if (!p.known) all.push(p);
      for (const p of s.geneve.values()) if (!p.known) all.push(p);
    }
    all.sort((a, b) => a.lastUsed - b.lastUsed);
    const n = Math.max(1, Math.ceil(max / 8));
    for (let i = 0; i < n && i < all.length; i++) {
      const p = all[i]!;
      const s = p.src!;
      if (typeof p.mapKey === 'string' && s.geneve.get(p.mapKey) === p) s.geneve.delete(p.mapKey);
      else s.vxlan.delete(Number(p.mapKey));
      this.metrics.points.delete(p.metricsKey);
      this.metrics.evictedPackets += p.counters.packets;
      this.unknownPoints--;
      this.metrics.capturePointsEvicted++;
    }
    this.notices.say('evicted', `more than ${max} capture points of unnamed sessions: the ${n} least recently used were forgotten (their packets stay in the files; --max-capture-points, --session)`, 'evictions of capture points');
  }

  private vxlanPoint(src: SourceEntry, vni: number): CapturePoint {
    const named = this.sessionNames.get(String(vni));
    const name = named ?? `vxlan-${vni}`;
    return this.point(
      name,
      `VXLAN VNI ${vni}${named ? ` (session ${named})` : ''} from mirror source ${src.text} (the mirrored ENI's primary IP); decapsulated by mirrorlens listen`,
      LinkType.Ethernet,
      src.addr,
      src.text,
      `vxlan_vni=${vni} mirror_source=${src.text}`,
      named !== undefined,
    );
  }

  private genevePoint(src: SourceEntry, g: GeneveView, innerVni: number, eni: Uint8Array | null, linkType: number): CapturePoint {
    const ep = g.hasGwlb ? `vpce-${normEndpoint(g.gwlbEndpointIdHex())}` : '';
    const byVni = innerVni >= 0 ? this.sessionNames.get(String(innerVni)) : this.sessionNames.get(String(g.vni));
    const byEp = ep ? this.sessionNames.get(ep) : undefined;
    const named = byVni ?? byEp;
    const eniText = eni ? addrKey(eni, 0, eni.length === 4 ? 4 : 6) : '';
    const base = innerVni >= 0 ? `vxlan-${innerVni}` : g.hasGwlb ? `gwlb-${ep}` : `geneve-${g.vni}`;
    const name = named ?? base;
    const parts: string[] = [];
    if (g.hasGwlb) {
      parts.push(`GENEVE from Gateway Load Balancer ${src.text}, endpoint id 0x${g.gwlbEndpointIdHex()}, attachment id 0x${g.gwlbAttachmentIdHex()}, VNI ${g.vni}`);
    } else parts.push(`GENEVE VNI ${g.vni} from ${src.text}`);
    if (innerVni >= 0) parts.push(`inner VXLAN VNI ${innerVni} from mirror source ${eniText} (the mirrored ENI's primary IP)`);
    else parts.push(linkType === LinkType.Ethernet ? 'inner Ethernet' : 'inner IP packets');
    if (named) parts.push(`session ${named}`);
    const cp: string[] = [];
    if (g.hasGwlb) cp.push(`gwlb_endpoint=0x${g.gwlbEndpointIdHex()} gwlb_attachment=0x${g.gwlbAttachmentIdHex()}`);
    cp.push(`geneve_vni=${g.vni}`);
    if (innerVni >= 0) cp.push(`vxlan_vni=${innerVni} mirror_source=${eniText}`);
    cp.push(`outer_source=${src.text}`);
    // Direction: with an inner VXLAN the mirror source is the ENI; plain GENEVE from a GWLB carries
    // the traffic itself (no ENI); plain GENEVE from elsewhere: the sender may be the ENI.
    const eniIp = eni ?? (g.hasGwlb ? null : src.addr);
    const eniIpText = eni ? eniText : g.hasGwlb ? '' : src.text;
    return this.point(name, `${parts.join('; ')}; decapsulated by mirrorlens listen`, linkType, eniIp, eniIpText, cp.join(' '), named !== undefined, src.text);
  }

  private point(name: string, description: string, linkType: number, eniIp: Uint8Array | null, eniIpText: string, commentPrefix: string, known: boolean, source?: string): CapturePoint {
    return {
      name,
      description,
      linkType,
      eniIp,
      eniIpText,
      eniMac: new Uint8Array(6),
      eniMacKnown: false,
      ifId: -1,
      generation: -1,
      counters: { name, source: source ?? eniIpText, packets: 0, bytes: 0, filtered: 0 },
      commentPrefix,
      known,
      lastUsed: 0,
      src: null,
      mapKey: '',
      metricsKey: '',
    };
  }

  /** A mirrored packet arrived cut by AWS (session PacketLength or the target's MTU). */
  private mirrorTruncated(len: number, orig: number): void {
    this.metrics.mirrorTruncated++;
    if (this.truncationAdvised) return;
    this.truncationAdvised = true;
    for (const l of truncationAdvice(len, orig)) this.o.onNotice?.(l);
  }

  /**
   * Writes one frame of capture point `p`. `knownDir` >= 0: the direction is known (host capture).
   * `sec` > 0: `sec`/`nsec` are the kernel's time of arrival (mmsg, ring), else the clock is read.
   * `wireLen`: the frame's length on the wire (host capture).
   */
  private emit(p: CapturePoint, linkType: number, b: Uint8Array, off: number, len: number, comment: string | null, knownDir: number, sec: number, nsec: number, wireLen = 0): void {
    const m = this.metrics;
    const c = this.cls;
    c.classify(linkType, b, off, len);
    const fp = c.packet;
    // Ingress / egress relative to the mirrored ENI: its primary IP is the mirror source.
    let dir: MirrorDirection = knownDir >= 0 ? (knownDir as MirrorDirection) : MirrorDirection.Unknown;
    const eni = p.eniIp;
    if (knownDir < 0 && eni !== null && fp.ipVersion === (eni.length === 4 ? 4 : 6)) {
      if (bytesEqual(b, fp.dstAddrOffset, eni, 0, eni.length)) dir = MirrorDirection.Ingress;
      else if (bytesEqual(b, fp.srcAddrOffset, eni, 0, eni.length)) dir = MirrorDirection.Egress;
    }
    const mo = c.macOffset;
    if (mo >= 0 && knownDir < 0) {
      if (dir !== MirrorDirection.Unknown) {
        if (!p.eniMacKnown) {
          p.eniMac.set(b.subarray(dir === MirrorDirection.Ingress ? mo : mo + 6, (dir === MirrorDirection.Ingress ? mo : mo + 6) + 6));
          p.eniMacKnown = true;
        }
      } else if (p.eniMacKnown) {
        // Secondary IPs, routed traffic: the ENI's MAC still tells the direction.
        if (bytesEqual(b, mo, p.eniMac, 0, 6)) dir = MirrorDirection.Ingress;
        else if (bytesEqual(b, mo + 6, p.eniMac, 0, 6)) dir = MirrorDirection.Egress;
      }
    }
    const f = this.o.filter;
    if (f !== undefined && !mirrorFilterKeeps(f, fp, dir)) {
      p.counters.filtered++;
      return m.drop(DropReason.Filter);
    }
    if (dir === MirrorDirection.Ingress) m.direction.ingress++;
    else if (dir === MirrorDirection.Egress) m.direction.egress++;
    else m.direction.unknown++;
    const rc = this.rc!;
    if (p.generation !== rc.generation) {
      p.ifId = rc.writer.addInterface({ linkType: p.linkType, name: p.name, description: p.description, snaplen: this.snaplen, tsresol: 9 });
      p.generation = rc.generation;
    }
    if (sec === 0) {
      const t = this.t0Ms + performance.now();
      sec = Math.floor(t / 1000);
      nsec = Math.round((t - sec * 1000) * 1e6);
      if (nsec > 999_999_999) nsec = 999_999_999;
    }
    let orig = c.declaredLength > len ? c.declaredLength : len;
    if (wireLen > orig) orig = wireLen;
    else if (orig > len && knownDir < 0) this.mirrorTruncated(len, orig);
    const flags = dir === MirrorDirection.Ingress ? EpbFlags.inbound : dir === MirrorDirection.Egress ? EpbFlags.outbound : undefined;
    const ifId = p.ifId;
    const commentText = comment !== null ? `${comment} direction=${dir === 1 ? 'ingress' : dir === 2 ? 'egress' : 'unknown'}` : null;
    if (!rc.writePacket(ifId, sec, nsec, b, off, len, orig, commentText, flags)) {
      return m.drop(DropReason.WriteError);
    }
    m.packets++;
    const kept = this.snaplen > 0 && len > this.snaplen ? this.snaplen : len;
    if (this.o.onFrame !== undefined) this.o.onFrame(p.linkType, sec, nsec, b, off, kept, orig, p.name);
    m.bytes += kept;
    p.counters.packets++;
    p.counters.bytes += kept;
    rc.afterWrite();
  }
}

function cidrHas(c: Cidr, addr: Uint8Array): boolean {
  let bits = c.prefixLength;
  let i = 0;
  while (bits >= 8) {
    if (addr[i] !== c.address[i]) return false;
    i++;
    bits -= 8;
  }
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((addr[i]! ^ c.address[i]!) & mask) === 0;
}

function addrKey(b: Uint8Array, off: number, family: number): string {
  return formatAddress(b, off, family === 4 ? 4 : 16);
}
