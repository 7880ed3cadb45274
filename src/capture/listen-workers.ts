/**
 * `listen --workers N`: several receiving processes on one UDP socket (node:cluster shares the
 * bound handle; the kernel hands each datagram to one worker). Node spends ~5-10 µs of CPU per
 * datagram in its event machinery whatever we do (measured in bench/listen), so one process tops
 * out near 100k datagrams/s per core; workers use the other cores.
 *
 * Each worker writes its own file series (`<prefix>-<time>-wK.pcapng`) with 1/N of the ring
 * budget, follows the key log itself (every file stays self-contained) and reports its counters
 * to the primary every second; the primary serves /metrics and the status line for the sum.
 * A TCP connection's packets may be spread over the workers' files: read them together
 * (`mirrorlens read DIR/*.pcapng`, or `mergecap`).
 */
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MirrorListener, type ListenOptions } from './listener.js';
import { ListenMetrics, renderStatusLine, startMetricsServer, type DropReason, type PointCounters } from './metrics.js';

interface Snapshot {
  type: 'mirrorlens-listen-metrics';
  final: boolean;
  datagrams: number;
  datagramBytes: number;
  packets: number;
  bytes: number;
  drops: [DropReason, number][];
  points: [string, PointCounters][];
  kernelDrops: number;
  /** Receive engine: 'socket' workers share one socket, 'mmsg' workers each have their own. */
  engine: string;
  capturePoints: number;
  capturePointsEvicted: number;
  evictedPackets: number;
  mirrorTruncated: number;
  direction: { ingress: number; egress: number; unknown: number };
  files: number;
  filesDeleted: number;
  diskFull: number;
  secrets: number;
  lostAtFlush: number;
  diskBytes: number;
  fileList?: { path: string; bytes: number }[];
}

function snapshot(m: ListenMetrics, engine: string, final: boolean, fileList?: { path: string; bytes: number }[]): Snapshot {
  return {
    type: 'mirrorlens-listen-metrics',
    final,
    datagrams: m.datagrams,
    datagramBytes: m.datagramBytes,
    packets: m.packets,
    bytes: m.bytes,
    drops: [...m.drops],
    points: [...m.points],
    kernelDrops: m.kernelDrops,
    engine,
    capturePoints: m.capturePoints,
    capturePointsEvicted: m.capturePointsEvicted,
    evictedPackets: m.evictedPackets,
    mirrorTruncated: m.mirrorTruncated,
    direction: { ...m.direction },
    files: m.files,
    filesDeleted: m.filesDeleted,
    diskFull: m.diskFull,
    secrets: m.secrets,
    lostAtFlush: m.lostAtFlush,
    diskBytes: m.diskBytes,
    fileList,
  };
}

export function isListenWorker(): boolean {
  return cluster.isWorker && process.env.MIRRORLENS_LISTEN_WORKER !== undefined;
}

/**
 * Runs in a cluster worker: a listener on the shared socket, counters to the primary, stops on
 * the primary's "stop" message (or on a signal, e.g. Ctrl-C reaching the whole process group).
 */
export async function runListenWorker(o: ListenOptions, workers: number): Promise<void> {
  const id = Number(process.env.MIRRORLENS_LISTEN_WORKER);
  const share = (v: number | undefined): number | undefined => (v ? Math.max(1, Math.floor(v / workers)) : v);
  const l = new MirrorListener({
    ...o,
    exclusive: false,
    fileSuffix: `-w${id}`,
    ringBytes: share(o.ringBytes),
    ringFiles: o.ringFiles ? Math.max(1, Math.floor(o.ringFiles / workers)) : o.ringFiles,
    metricsPort: undefined,
    statusIntervalMs: 0,
    onNotice: (line) => o.onNotice?.(`worker ${id}: ${line}`),
  });
  await l.start();
  process.send?.({ type: 'mirrorlens-listen-ready', file: l.currentFile });
  const timer = setInterval(() => process.send?.(snapshot(l.metrics, l.engineInfo.name, false)), 1000);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    await l.stop();
    process.send?.(snapshot(l.metrics, l.engineInfo.name, true, l.files()), () => process.disconnect());
  };
  process.on('message', (m: unknown) => {
    if ((m as { type?: string }).type === 'mirrorlens-listen-stop') void stop();
  });
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

/** The primary of `listen --workers N`. */
export class ListenWorkerPool {
  readonly metrics = new ListenMetrics();
  private readonly snaps = new Map<number, Snapshot>();
  private readonly workers: Worker[] = [];
  private server: Server | null = null;
  private statusTimer: ReturnType<typeof setInterval> | null = null;
  private readonly prev = { t: Date.now(), packets: 0, bytes: 0 };
  readonly currentFiles: string[] = [];

  constructor(
    private readonly o: ListenOptions,
    private readonly n: number,
  ) {}

  async start(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 1; i <= this.n; i++) {
      const w = cluster.fork({ MIRRORLENS_LISTEN_WORKER: String(i) });
      this.workers.push(w);
      ready.push(
        new Promise<void>((res, rej) => {
          const onExit = (code: number): void => rej(new Error(`listen worker ${i} exited with code ${code} before it was ready`));
          w.once('exit', onExit);
          w.on('message', (m: { type?: string; file?: string }) => {
            if (m.type === 'mirrorlens-listen-ready') {
              w.off('exit', onExit);
              this.currentFiles.push(m.file ?? '');
              res();
            } else if (m.type === 'mirrorlens-listen-metrics') {
              this.snaps.set(i, m as Snapshot);
              this.aggregate();
            }
          });
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      for (const w of this.workers) w.kill('SIGKILL');
      throw e;
    }
    if (this.o.metricsPort !== undefined) this.server = await startMetricsServer(this.metrics, this.o.metricsPort, this.o.metricsHost);
    const ms = this.o.statusIntervalMs ?? 5000;
    if (ms > 0 && this.o.onStatus) {
      const f = this.o.onStatus;
      this.statusTimer = setInterval(() => f(renderStatusLine(this.metrics, this.prev)), ms);
    }
  }

  get metricsAddress(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  /** Asks every worker to stop, waits for their final counters and exit. */
  async stop(): Promise<{ path: string; bytes: number }[]> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((res) => {
            if (w.isDead()) return res();
            w.once('exit', () => res());
            try {
              w.send({ type: 'mirrorlens-listen-stop' });
            } catch {
              res();
            }
          }),
      ),
    );
    this.aggregate();
    if (this.server) {
      const s = this.server;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    return [...this.snaps.values()].flatMap((s) => s.fileList ?? []);
  }

  private aggregate(): void {
    const m = this.metrics;
    m.datagrams = m.datagramBytes = m.packets = m.bytes = 0;
    m.files = m.filesDeleted = m.diskFull = m.secrets = m.lostAtFlush = m.diskBytes = 0;
    m.kernelDrops = -1;
    m.capturePoints = m.capturePointsEvicted = m.evictedPackets = m.mirrorTruncated = 0;
    m.direction.ingress = m.direction.egress = m.direction.unknown = 0;
    for (const k of m.drops.keys()) m.drops.set(k, 0);
    m.points.clear();
    for (const s of this.snaps.values()) {
      m.datagrams += s.datagrams;
      m.datagramBytes += s.datagramBytes;
      m.packets += s.packets;
      m.bytes += s.bytes;
      for (const [r, v] of s.drops) m.drops.set(r, (m.drops.get(r) ?? 0) + v);
      for (const [k, p] of s.points) {
        const q = m.points.get(k);
        if (q) {
          q.packets += p.packets;
          q.bytes += p.bytes;
          q.filtered += p.filtered;
        } else m.points.set(k, { ...p });
      }
      // the workers share one socket: its kernel drop counter is the same for all of them
      // (mmsg workers each have their own SO_REUSEPORT socket: their drops add up)
      if (s.engine === 'socket' || m.kernelDrops < 0 || s.kernelDrops < 0) m.kernelDrops = Math.max(m.kernelDrops, s.kernelDrops);
      else m.kernelDrops += s.kernelDrops;
      m.capturePoints += s.capturePoints;
      m.capturePointsEvicted += s.capturePointsEvicted;
      m.evictedPackets += s.evictedPackets;
      m.mirrorTruncated += s.mirrorTruncated;
      m.direction.ingress += s.direction.ingress;
      m.direction.egress += s.direction.egress;
      m.direction.unknown += s.direction.unknown;
      m.files += s.files;
      m.filesDeleted += s.filesDeleted;
      m.diskFull += s.diskFull;
      m.secrets += s.secrets;
      m.lostAtFlush += s.lostAtFlush;
      m.diskBytes += s.diskBytes;
    }
  }
}
