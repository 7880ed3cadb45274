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
import dgram from 'node:dgram';
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
  known: boolean;
}

const VXLAN_PORT = 4789;

/**
 * libuv reads at most 32 datagrams from a UDP socket per poll (uv__udp_recvmsg); a batch with
 * fewer means the socket was drained, a full one that more may be waiting (then no sleep).
 */
const LIBUV_READS_PER_POLL = 32;

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
  readonly bound: { kind: 'vxlan' | 'geneve'; address: string; port: number; family: string; recvBufferBytes: number }[] = [];

  private readonly o: ListenOptions;
  private readonly sockets: dgram.Socket[] = [];
  private readonly sources = new Map<string, SourceEntry>();
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
  private pointCount = 0;
  private readonly lateSecretFiles = new Set<string>();
  private readonly secretMoves = new Set<Promise<void>>();
  private pointsOverflowReported = false;
  private stopped = false;
  private readonly t0Ms = performance.timeOrigin;
  private readonly snaplen: number;
  private readonly comments: PacketComments;
  private readonly allow: Cidr[];
  private readonly statusPrev = { t: Date.now(), packets: 0, bytes: 0 };
  /** Receive batching (see ListenOptions.batchWaitMs): datagrams in this event-loop turn. */
  private batchDatagrams = 0;
  private batchEndScheduled = false;
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
  }

  /** Opens the first file, binds the sockets, starts timers / key log / metrics. */
  async start(): Promise<void> {
    const o = this.o;
    const notice = (l: string): void => o.onNotice?.(l);
    const vx = o.vxlanPort ?? VXLAN_PORT;
    const gn = o.genevePort ?? 6081;
    if (vx === 0 && gn === 0) throw new MirrorlensError(ErrorCode.Usage, 'listen: both --vxlan-port and --geneve-port are 0: nothing to listen on');
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
      shb: { userAppl: 'mirrorlens listen', comment: 'decapsulated VPC Traffic Mirroring (VXLAN) / GWLB (GENEVE) traffic' },
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

    try {
      if (vx !== 0) await this.bindAll('vxlan', vx);
      if (gn !== 0) await this.bindAll('geneve', gn);
    } catch (e) {
      await this.stop();
      this.discardUnusedFile();
      throw e;
    }
    for (const b of this.bound) {
      const want = o.recvBufferBytes ?? 32 << 20;
      if (b.recvBufferBytes < want) {
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
      }, flushMs),
    );
    const statusMs = o.statusIntervalMs ?? 5000;
    const ports = [vx, gn];
    this.metrics.kernelDrops = readKernelUdpDrops(ports);
    this.timers.push(setInterval(() => (this.metrics.kernelDrops = readKernelUdpDrops(ports)), Math.min(statusMs || 2000, 2000)));
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
    const kd = readKernelUdpDrops([this.o.vxlanPort ?? VXLAN_PORT, this.o.genevePort ?? 6081]);
    if (kd >= 0) this.metrics.kernelDrops = kd;
    for (const s of this.sockets) s.removeAllListeners('message');
    await Promise.all(
      this.sockets.map(
        (s) =>
          new Promise<void>((res) => {
            try {
              s.close(() => res());
            } catch {
              res();
            }
          }),
      ),
    );
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

  private async bindAll(kind: 'vxlan' | 'geneve', port: number): Promise<void> {
    const addrs = this.o.bind && this.o.bind.length ? this.o.bind : [undefined];
    for (const a of addrs) {
      if (a === undefined) {
        try {
          await this.bindOne(kind, 'udp6', '::', port);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL' && code !== 'EINVAL') throw this.bindError(kind, '::', port, e);
          await this.bindOne(kind, 'udp4', '0.0.0.0', port).catch((e2: unknown) => {
            throw this.bindError(kind, '0.0.0.0', port, e2);
          });
        }
      } else {
        const fam = a.includes(':') ? 'udp6' : 'udp4';
        await this.bindOne(kind, fam, a, port).catch((e: unknown) => {
          throw this.bindError(kind, a, port, e);
        });
      }
    }
  }

  private bindError(kind: string, addr: string, port: number, e: unknown): MirrorlensError {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? ' (another process listens there; pick another port or stop it)' : code === 'EACCES' ? ' (ports below 1024 need privileges)' : '';
    return new MirrorlensError(ErrorCode.Listen, `cannot listen for ${kind.toUpperCase()} on UDP ${addr.includes(':') ? `[${addr}]` : addr}:${port}: ${(e as Error).message}${hint}`);
  }

  private bindOne(kind: 'vxlan' | 'geneve', type: 'udp4' | 'udp6', address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type, ipv6Only: false, recvBufferSize: this.o.recvBufferBytes ?? 32 << 20 });
      const onErr = (e: Error): void => {
        try {
          s.close();
        } catch {
          // ignore
        }
        reject(e);
      };
      s.once('error', onErr);
      s.bind({ port, address, exclusive: this.o.exclusive ?? true }, () => {
        s.off('error', onErr);
        s.on('error', (e) => this.o.onNotice?.(`${kind} socket error: ${e.message}`));
        let rb = 0;
        try {
          rb = s.getRecvBufferSize();
        } catch {
          // not available
        }
        const info = s.address();
        this.bound.push({ kind, address: info.address, port: info.port, family: type, recvBufferBytes: rb });
        this.sockets.push(s);
        if (kind === 'vxlan') {
          s.on('message', (m, r) => {
            this.onVxlan(m, r);
            this.noteDatagram();
          });
        } else {
          s.on('message', (m, r) => {
            this.onGeneve(m, r);
            this.noteDatagram();
          });
        }
        resolve();
      });
    });
  }

  /**
   * Counts a datagram of this event-loop turn; the first one schedules `endBatch` for the check
   * phase, which runs once libuv has handed over everything the poll returned.
   */
  private noteDatagram(): void {
    if (this.batchWaitMs === 0) return;
    this.batchDatagrams++;
    if (!this.batchEndScheduled) {
      this.batchEndScheduled = true;
      setImmediate(this.endBatch);
    }
  }

  /**
   * After a batch that drained the socket: sleep batchWaitMs (blocking the thread on purpose, like
   * a NIC's interrupt coalescing or tcpdump's ring block timeout) so that the next poll returns
   * many datagrams at once. Timers, signals and the metrics endpoint wait at most that long.
   */
  private readonly endBatch = (): void => {
    this.batchEndScheduled = false;
    const n = this.batchDatagrams;
    this.batchDatagrams = 0;
    if (n < LIBUV_READS_PER_POLL && !this.stopped) Atomics.wait(this.batchSleepCell, 0, 0, this.batchWaitMs);
  };

  // ---------------------------------------------------------------------------------------------
  // per datagram

  private source(address: string): SourceEntry {
    let e = this.sources.get(address);
    if (e !== undefined) return e;
    if (this.sources.size >= 65536) this.sources.clear();
    const text = addrText(address);
    let addr: Uint8Array;
    try {
      addr = parseCidr(text).address;
    } catch {
      addr = new Uint8Array(4);
    }
    let ok = this.allow.length === 0;
    for (const c of this.allow) {
      if (c.family === (addr.length === 4 ? 4 : 6) && cidrHas(c, addr)) {
        ok = true;
        break;
      }
    }
    e = { ok, addr, text, vxlan: new Map(), geneve: new Map() };
    this.sources.set(address, e);
    return e;
  }

  /** Handles one VXLAN datagram (exposed for tests and for feeding datagrams from elsewhere). */
  onVxlan(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const m = this.metrics;
    m.datagrams++;
    m.datagramBytes += msg.length;
    const src = this.source(rinfo.address);
    if (!src.ok) return m.drop(DropReason.SourceNotAllowed);
    const v = this.vxlan;
    if (v.check(msg, 0, msg.length) !== Status.Ok || !v.vniValid) return m.drop(DropReason.NotVxlan);
    let p = src.vxlan.get(v.vni);
    if (p === undefined) {
      p = this.newPoint(src, `vx:${v.vni}`, () => this.vxlanPoint(src, v.vni));
      if (p === undefined) return;
      src.vxlan.set(v.vni, p);
    }
    if (!p.known && this.o.onlyKnownSessions) return m.drop(DropReason.UnknownSession);
    const comment = this.comments === 'all' ? `${p.commentPrefix} src_port=${rinfo.port}` : null;
    this.emit(p, LinkType.Ethernet, msg, 8, msg.length - 8, comment);
  }

  /** Handles one GENEVE datagram. */
  onGeneve(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const m = this.metrics;
    m.datagrams++;
    m.datagramBytes += msg.length;
    const src = this.source(rinfo.address);
    if (!src.ok) return m.drop(DropReason.SourceNotAllowed);
    const g = this.geneve;
    if (g.check(msg, 0, msg.length) !== Status.Ok) return m.drop(DropReason.NotGeneve);
    const pt = g.protocolType;
    let off = g.headerLength;
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
      const fam = c.classify(LinkType.Raw, msg, off, msg.length - off);
      if (fam !== 0 && c.packet.protocol === 17 && c.packet.dstPort === VXLAN_PORT && c.l4Length >= 16) {
        const vo = c.l4Offset + 8;
        if (this.vxlanInner.check(msg, vo, msg.length - vo) === Status.Ok && this.vxlanInner.vniValid) {
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
      p = this.newPoint(src, `gn:${key}`, () => this.genevePoint(src, g, innerVni, eni, lt));
      if (p === undefined) return;
      src.geneve.set(key, p);
    }
    if (!p.known && this.o.onlyKnownSessions) return m.drop(DropReason.UnknownSession);
    let comment: string | null = null;
    if (this.comments === 'all' || (this.comments === 'gwlb' && g.hasGwlb)) {
      comment = `${p.commentPrefix}${g.hasGwlb ? ` gwlb_flow_cookie=0x${g.gwlbFlowCookieHex()}` : ''}${this.comments === 'all' ? ` src_port=${rinfo.port}` : ''}`;
    }
    this.emit(p, linkType, msg, off, msg.length - off, comment);
  }

  private newPoint(src: SourceEntry, _key: string, make: () => CapturePoint): CapturePoint | undefined {
    const max = this.o.maxCapturePoints ?? 4096;
    if (this.pointCount >= max) {
      this.metrics.drop(DropReason.TooManyCapturePoints);
      if (!this.pointsOverflowReported) {
        this.pointsOverflowReported = true;
        this.o.onNotice?.(`more than ${max} capture points (VNI / GWLB endpoint / source combinations); packets of new ones are dropped (--max-capture-points)`);
      }
      return undefined;
    }
    this.pointCount++;
    const p = make();
    this.metrics.points.set(`${src.text}|${_key}`, p.counters);
    if (!p.known && this.o.onlyKnownSessions) this.o.onNotice?.(`ignoring ${p.name} (not named with --session, and --only-known-sessions): ${p.description}`);
    else this.o.onNotice?.(`new capture point ${p.name}: ${p.description}`);
    return p;
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
    };
  }

  private emit(p: CapturePoint, linkType: number, b: Buffer, off: number, len: number, comment: string | null): void {
    const m = this.metrics;
    const c = this.cls;
    c.classify(linkType, b, off, len);
    const fp = c.packet;
    // Ingress / egress relative to the mirrored ENI: its primary IP is the mirror source.
    let dir: MirrorDirection = MirrorDirection.Unknown;
    const eni = p.eniIp;
    if (eni !== null && fp.ipVersion === (eni.length === 4 ? 4 : 6)) {
      if (bytesEqual(b, fp.dstAddrOffset, eni, 0, eni.length)) dir = MirrorDirection.Ingress;
      else if (bytesEqual(b, fp.srcAddrOffset, eni, 0, eni.length)) dir = MirrorDirection.Egress;
    }
    const mo = c.macOffset;
    if (mo >= 0) {
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
    const t = this.t0Ms + performance.now();
    const sec = Math.floor(t / 1000);
    let nsec = Math.round((t - sec * 1000) * 1e6);
    if (nsec > 999_999_999) nsec = 999_999_999;
    const orig = c.declaredLength > len ? c.declaredLength : len;
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
