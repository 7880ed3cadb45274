/**
 * `mirrorlens listen`: be a VPC Traffic Mirroring / Gateway Load Balancer target (see docs/listen.md).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIO, Command } from './command.js';
import { numberOption, parseCommandArgs } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { fileProblem } from '../capture/inputs.js';
import { MirrorListener, type ListenOptions, type PacketComments } from '../capture/listener.js';
import { ListenWorkerPool, isListenWorker, runListenWorker } from '../capture/listen-workers.js';
import { describeMirrorFilter, loadMirrorFilter, parseCidr, type Cidr } from '../capture/filter.js';
import { renderStatusLine } from '../capture/metrics.js';
import { LiveAnalyzer } from '../analyze/live.js';
import { safeJson } from '../report/escape.js';
import { findingToJson } from '../report/json.js';
import { renderFinding } from '../report/text.js';
import { closeRecorder, recorderFrom, STORE_OPTIONS } from './store-options.js';

const USAGE = `Usage: mirrorlens listen --out DIR [options]
       mirrorlens listen --out DIR --interface IFACE [options]

Receives mirrored traffic on UDP - VXLAN (VPC Traffic Mirroring, port 4789) and GENEVE (Gateway
Load Balancer, port 6081), IPv4 and IPv6 - decapsulates it and writes rotating pcapng files
(one interface per VNI / GWLB endpoint). No root and no libpcap needed. Stop with Ctrl-C or
SIGTERM: the current file is flushed and closed. With --interface it captures on this host's
own interface instead (where Traffic Mirroring is not available; needs root or CAP_NET_RAW).

Engines (--engine; the start-up line says which runs and why):
  mmsg    the default: recvmmsg(2) batches of up to 64 datagrams, no privilege. Limit: about
          1 us of CPU per datagram, 3-6x tcpdump's; zero-drop to 20 000-60 000 datagrams/s
          (3 runs) on the loaded 2-vCPU benchmark machine, where a scheduling gap longer than the socket
          buffer holds drops a burst (see kernel-drops; --recv-buffer, --workers N help)
  ring    beyond that: the AF_PACKET packet ring tcpdump uses (root or CAP_NET_RAW;
          --ring-buffer SIZE): zero-drop wherever tcpdump was, at about 2x its CPU
  socket  Node's own UDP socket: the fallback when the native addon could not be built
          (about 3-6 us per datagram); docs/listen.md "Engines"

Options:
  --out DIR               directory for the capture files (created if missing)
  --bind ADDR             address to listen on (repeatable; default: all, IPv4 and IPv6)
  --vxlan-port N          VXLAN port (default 4789; 0 = off)
  --geneve-port N         GENEVE port (default 6081; 0 = off)
  --session VNI=NAME      name a capture point by VNI (or GWLB endpoint: vpce-ID=NAME); repeatable
  --only-known-sessions   drop traffic of VNIs / endpoints not named with --session
  --filter FILE           keep only what these AWS Traffic Mirror filter rules accept (JSON/YAML)
  --allow-source CIDR     accept datagrams only from these sources (repeatable)
  --rotate-size SIZE      start a new file at this size (default 100MB; 0 = never)
  --rotate-seconds N      start a new file after N seconds (default 0 = never)
  --ring-files N          keep at most N files (oldest deleted first)
  --ring-bytes SIZE       keep at most SIZE bytes of files (oldest deleted first)
  --keylog FILE           follow this TLS key log; its secrets go into the current file (DSB)
  --keylog-carry-seconds N  each new file starts with the key log lines read in the N seconds
                          before it (default 60: keys of handshakes still to come)
  --metrics-port P        serve Prometheus metrics on http://HOST:P/metrics
  --metrics-bind ADDR     address for the metrics endpoint (default: all)
  --snaplen N             keep at most N bytes of each packet (default 0 = all)
  --recv-buffer SIZE      UDP receive buffer to ask for (default 32MiB; capped by net.core.rmem_max)
  --packet-comments M     none | gwlb (default: GWLB flow cookies) | all (VNI, source, port, direction)
  --prefix NAME           file name prefix (default mirrorlens)
  --status-seconds N      counters on stderr every N seconds (default 5; 0 = off)
  --max-capture-points N  at most N pcapng interfaces (default 4096)
  --workers N             N receiving processes sharing the socket, one file series each
                          (default 1; see docs/listen.md "Performance")
  --engine E              auto (default: mmsg when built, else socket) | mmsg | ring | socket
  --interface IFACE       capture every frame of this interface (no mirroring): one capture
                          point host-IFACE, direction from the kernel (outgoing = egress)
  --ring-buffer SIZE      packet ring size for --engine ring / --interface (default 32MiB)
  --flush-interval S      write buffered blocks to the file at least every S seconds (default 1;
                          0.05-60): at most this much is lost by kill -9 or a crash
  --no-traffic-seconds N  no datagram after N seconds: print what to check (default 30; 0 = off)
  --batch-wait-ms N       after emptying the socket, wait N ms before reading again, so
                          datagrams are read in batches: fewer wake-ups, less CPU per datagram
                          (default 2; 0 = read each datagram as it comes)
  --quiet                 no start-up notices or status lines (errors still shown)
  --analyze               analyze live: print each finding (idle-timeout reset, keep-alive race,
                          refused or dropped connect, ...) on stdout within about a second of the
                          packets that prove it; --keylog files are followed for decryption
  --analyze-json          with --analyze: one JSON object per finding per line (report schema 2)
  --store URL             write connections, transactions, TLS sessions and findings to a store:
                          a directory (Parquet, readable while listen runs; e.g. OUT/records) or
                          clickhouse://[user[:password]@]host[:8123]/database (see docs/store.md);
                          the store never slows the capture: a server away means a disk spool
  --node NAME             the name this listener's records carry (default: the host name)
  --spool DIR             where records wait while the server is away (default OUT/spool)

SIZE: bytes with an optional unit: k, M, G (powers of 1000; KB/MB/GB too) or KiB, MiB, GiB.
Files are named PREFIX-YYYYMMDDTHHMMSS.mmmZ.pcapng (UTC start time; sorts in time order).

Examples:
  mirrorlens listen --out /var/capture --session 4242=alb-eni-0abc --ring-bytes 20GB
  mirrorlens listen --out cap --filter only-https.yaml --keylog /tmp/keys.log --metrics-port 9410
`;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "100MB" → 100000000, "1.5GiB" → 1610612736. Throws a usage error naming the option. */
export function parseSize(option: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new MirrorlensError(ErrorCode.Usage, `listen: --${option} wants a size like 100MB, 512KiB or 2G, got '${v}'`);
  }
  return Math.round(Number(m[1]) * unit);
}

function port(name: string, v: string | undefined, fallback: number): number {
  const n = numberOption('listen', name, v, fallback);
  if (!Number.isInteger(n) || n > 65535) throw new MirrorlensError(ErrorCode.Usage, `listen: --${name} wants a port 0-65535, got '${v}'`);
  return n;
}

function strings(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export const command: Command = {
  summary: 'be a Traffic Mirroring / GWLB target: receive VXLAN/GENEVE, write rotating pcapng',
  usage: USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs('listen', argv, {
      out: { type: 'string' },
      bind: { type: 'string', multiple: true },
      'vxlan-port': { type: 'string' },
      'geneve-port': { type: 'string' },
      session: { type: 'string', multiple: true },
      'only-known-sessions': { type: 'boolean' },
      filter: { type: 'string' },
      'allow-source': { type: 'string', multiple: true },
      'rotate-size': { type: 'string' },
      'rotate-seconds': { type: 'string' },
      'ring-files': { type: 'string' },
      'ring-bytes': { type: 'string' },
      keylog: { type: 'string' },
      'keylog-carry-seconds': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-bind': { type: 'string' },
      snaplen: { type: 'string' },
      'recv-buffer': { type: 'string' },
      'packet-comments': { type: 'string' },
      prefix: { type: 'string' },
      'status-seconds': { type: 'string' },
      'max-capture-points': { type: 'string' },
      workers: { type: 'string' },
      'batch-wait-ms': { type: 'string' },
      engine: { type: 'string' },
      interface: { type: 'string' },
      'ring-buffer': { type: 'string' },
      'flush-interval': { type: 'string' },
      'no-traffic-seconds': { type: 'string' },
      quiet: { type: 'boolean' },
      analyze: { type: 'boolean' },
      'analyze-json': { type: 'boolean' },
      ...STORE_OPTIONS,
    });
    if (positionals.length) throw new MirrorlensError(ErrorCode.Usage, `listen: unexpected argument '${positionals[0]}' (see 'mirrorlens listen --help')`);
    const out = values.out as string | undefined;
    if (!out) throw new MirrorlensError(ErrorCode.Usage, "--out DIR is required (see 'mirrorlens listen --help')");
    try {
      if (existsSync(out) && !statSync(out).isDirectory()) throw new Error('exists and is not a directory (--out names the directory the rotating files go to)');
      mkdirSync(out, { recursive: true });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === undefined ? (e as Error).message : fileProblem(e);
      throw new MirrorlensError(ErrorCode.CaptureWrite, `cannot use output directory: ${why}`, { file: out });
    }
    const sessions = new Map<string, string>();
    for (const s of strings(values.session)) {
      const m = /^\s*(\d{1,8}|vpce-[0-9a-fA-F]+|0x[0-9a-fA-F]+)\s*=\s*(\S.*)$/.exec(s);
      if (!m || (/^\d+$/.test(m[1]!) && Number(m[1]) > 0xffffff)) {
        throw new MirrorlensError(ErrorCode.Usage, `listen: --session wants VNI=NAME (VNI 0-16777215) or vpce-ID=NAME, got '${s}'`);
      }
      sessions.set(m[1]!, m[2]!.trim());
    }
    const allow: Cidr[] = [];
    for (const a of strings(values['allow-source'])) {
      try {
        allow.push(parseCidr(a));
      } catch (e) {
        throw new MirrorlensError(ErrorCode.Usage, `listen: --allow-source: ${(e as Error).message}`);
      }
    }
    const pc = (values['packet-comments'] as string | undefined) ?? 'gwlb';
    if (pc !== 'none' && pc !== 'gwlb' && pc !== 'all') throw new MirrorlensError(ErrorCode.Usage, `listen: --packet-comments wants none, gwlb or all, got '${pc}'`);
    const prefix = (values.prefix as string | undefined) ?? 'mirrorlens';
    if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new MirrorlensError(ErrorCode.Usage, `listen: --prefix may hold letters, digits, '.', '_' and '-' only, got '${prefix}'`);
    const filter = values.filter ? loadMirrorFilter(values.filter as string) : undefined;
    const quiet = values.quiet === true;
    const statusSeconds = numberOption('listen', 'status-seconds', values['status-seconds'] as string | undefined, 5);
    const metricsPort = values['metrics-port'] !== undefined ? port('metrics-port', values['metrics-port'] as string, 0) : undefined;
    const say = (l: string): void => {
      if (!quiet) io.stderr.write(`${l}\n`);
    };

    const workers = numberOption('listen', 'workers', values.workers as string | undefined, 1);
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new MirrorlensError(ErrorCode.Usage, `listen: --workers wants 1-64, got '${values.workers}'`);
    const batchWaitMs = numberOption('listen', 'batch-wait-ms', values['batch-wait-ms'] as string | undefined, 2);
    if (!(batchWaitMs >= 0 && batchWaitMs <= 100)) throw new MirrorlensError(ErrorCode.Usage, `listen: --batch-wait-ms wants 0-100, got '${values['batch-wait-ms']}'`);
    const engine = (values.engine as string | undefined) ?? 'auto';
    if (!['auto', 'mmsg', 'ring', 'socket'].includes(engine)) throw new MirrorlensError(ErrorCode.Usage, `listen: --engine wants auto, mmsg, ring or socket, got '${engine}'`);
    const iface = values.interface as string | undefined;
    if (iface !== undefined && !/^[A-Za-z0-9._@:-]{1,15}$/.test(iface)) throw new MirrorlensError(ErrorCode.Usage, `listen: --interface wants an interface name (like eth0), got '${iface}'`);
    if (iface !== undefined && (engine === 'mmsg' || engine === 'socket')) throw new MirrorlensError(ErrorCode.Usage, `listen: --interface captures with the packet ring, not --engine ${engine}`);
    if (workers > 1 && (iface !== undefined || engine === 'ring')) throw new MirrorlensError(ErrorCode.Usage, 'listen: --workers works with the mmsg and socket engines, not the packet ring');
    const flushS = numberOption('listen', 'flush-interval', values['flush-interval'] as string | undefined, 1);
    if (!(flushS >= 0.05 && flushS <= 60)) throw new MirrorlensError(ErrorCode.Usage, `listen: --flush-interval wants 0.05-60 seconds, got '${values['flush-interval']}'`);
    const noTraffic = numberOption('listen', 'no-traffic-seconds', values['no-traffic-seconds'] as string | undefined, 30);
    if (!(noTraffic >= 0)) throw new MirrorlensError(ErrorCode.Usage, `listen: --no-traffic-seconds wants 0 or more, got '${values['no-traffic-seconds']}'`);
    const opts: ListenOptions = {
      outDir: out,
      bind: strings(values.bind),
      vxlanPort: port('vxlan-port', values['vxlan-port'] as string | undefined, 4789),
      genevePort: port('geneve-port', values['geneve-port'] as string | undefined, 6081),
      sessions,
      onlyKnownSessions: values['only-known-sessions'] === true,
      filter,
      allowSources: allow,
      rotateBytes: parseSize('rotate-size', values['rotate-size'] as string | undefined, 100e6),
      rotateSeconds: numberOption('listen', 'rotate-seconds', values['rotate-seconds'] as string | undefined, 0),
      ringFiles: numberOption('listen', 'ring-files', values['ring-files'] as string | undefined, 0),
      ringBytes: parseSize('ring-bytes', values['ring-bytes'] as string | undefined, 0),
      keylog: values.keylog as string | undefined,
      keylogCarrySeconds: numberOption('listen', 'keylog-carry-seconds', values['keylog-carry-seconds'] as string | undefined, 60),
      snaplen: numberOption('listen', 'snaplen', values.snaplen as string | undefined, 0),
      recvBufferBytes: parseSize('recv-buffer', values['recv-buffer'] as string | undefined, 32 * 1024 * 1024),
      packetComments: pc as PacketComments,
      prefix,
      metricsPort,
      metricsHost: values['metrics-bind'] as string | undefined,
      maxCapturePoints: numberOption('listen', 'max-capture-points', values['max-capture-points'] as string | undefined, 4096),
      statusIntervalMs: statusSeconds * 1000,
      batchWaitMs,
      engine: engine as ListenOptions['engine'],
      interface: iface,
      packetRingBytes: parseSize('ring-buffer', values['ring-buffer'] as string | undefined, 32 * 1024 * 1024),
      flushIntervalMs: Math.round(flushS * 1000),
      noTrafficSeconds: noTraffic,
      onNotice: say,
      onStatus: say,
    };
    const listenerRef: { l: MirrorListener | null } = { l: null };
    let live: LiveAnalyzer | null = null;
    if (values.store !== undefined && workers > 1) throw new MirrorlensError(ErrorCode.Usage, 'listen: --store works with one receiving process (drop --workers)');
    if (values.store !== undefined && values.spool === undefined) values.spool = join(out, 'spool');
    const recorder = isListenWorker() ? null : await recorderFrom('listen', values, say);
    if (values.analyze === true || values['analyze-json'] === true || recorder) {
      if (workers > 1) throw new MirrorlensError(ErrorCode.Usage, 'listen: --analyze works with one receiving process (drop --workers)');
      const print = values.analyze === true || values['analyze-json'] === true;
      const json = values['analyze-json'] === true;
      let n = 0;
      live = new LiveAnalyzer({
        keylogs: opts.keylog ? [opts.keylog] : [],
        onWarning: say,
        recorder,
        onFinding: (f) => {
          if (!print) return;
          io.stdout.write(json ? `${safeJson(findingToJson(f))}\n` : `${renderFinding(f, n++, { color: Boolean(io.stdout.isTTY) && !io.env.NO_COLOR })}\n\n`);
        },
      });
      const a = live;
      if (recorder) {
        // Where each packet is: the file being written and where its block starts (the end of the
        // one before it): two reads per packet, no allocation.
        let file = '';
        let at = 0;
        opts.onFrame = (lt, sec, nsec, b, off, len, orig, point) => {
          const f = listenerRef.l?.currentFile ?? '';
          if (f !== file) {
            file = f;
            at = 0;
            recorder.beginFile(f);
          }
          recorder.at(sec + nsec / 1e9, at, orig);
          at = listenerRef.l?.currentFileBytes ?? 0;
          a.frame(lt, sec, nsec, b, off, len, orig, point);
        };
      } else opts.onFrame = (lt, sec, nsec, b, off, len, orig, point) => a.frame(lt, sec, nsec, b, off, len, orig, point);
    }
    if (isListenWorker()) {
      await runListenWorker(opts, workers);
      return new Promise<number>((resolve) => process.once('disconnect', () => resolve(0)));
    }
    if (workers > 1) return runPool(opts, workers, out, io, say, quiet);
    const listener = new MirrorListener(opts);
    listenerRef.l = listener;

    await listener.start();
    if (live) {
      live.start();
      if (values.analyze === true || values['analyze-json'] === true) say('listen: analyzing live (findings on stdout)');
    }
    const ei = listener.engineInfo;
    say(`listen: engine ${ei.name} (${ei.why})${iface ? `, capturing on ${iface}` : ''}`);
    for (const b of listener.bound) {
      if (b.family === 'ring') {
        say(`listen: ${b.kind.toUpperCase()} on port ${b.port} from the packet ring (${b.recvBufferBytes} bytes)`);
        continue;
      }
      say(`listen: ${b.kind.toUpperCase()} on ${b.family} ${b.address.includes(':') ? `[${b.address}]` : b.address}:${b.port} (receive buffer ${b.recvBufferBytes} bytes)`);
    }
    const ma = listener.metricsAddress;
    if (ma) say(`listen: metrics on http://${ma.address.includes(':') ? `[${ma.address}]` : ma.address}:${ma.port}/metrics`);
    if (filter) for (const l of describeMirrorFilter(filter)) say(`listen: filter ${l}`);
    say(`listen: writing ${listener.currentFile}`);

    return new Promise<number>((resolve) => {
      let stopping = false;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (stopping) {
          io.stderr.write(`listen: second ${sig}, exiting without waiting\n`);
          process.exit(130);
        }
        stopping = true;
        void listener.stop().then(
          () => {
            // The final summary is the last line: per-point lines and the live count come first.
            if (!quiet) io.stderr.write(`${listener.summary()}\n`);
            if (live) {
              live.stop();
              io.stderr.write(`listen: live analysis: ${live.findings} finding(s)\n`);
            }
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
            const m = listener.metrics;
            const files = listener.files();
            io.stderr.write(
              `listen: stopped by ${sig}: ${m.packets} packets written (${m.bytes} bytes) to ${files.length} file(s) in ${out}, ` +
                `${m.datagrams} datagrams received, ${m.dropped()} dropped, ${m.lostAtFlush} lost at flush, ` +
                (m.ringDrops >= 0 ? `ring drops ${m.ringDrops}\n` : `kernel drops ${m.kernelDrops < 0 ? 'unknown' : m.kernelDrops}\n`),
            );
            void closeRecorder('listen', recorder, io).then(resolve, (e: unknown) => {
              io.stderr.write(`listen: store: ${(e as Error).message}\n`);
              resolve(1);
            });
          },
          (e: unknown) => {
            io.stderr.write(`listen: error while stopping: ${(e as Error).message}\n`);
            resolve(1);
          },
        );
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
  },
};

async function runPool(opts: ListenOptions, workers: number, out: string, io: CliIO, say: (l: string) => void, quiet: boolean): Promise<number> {
  const pool = new ListenWorkerPool(opts, workers);
  await pool.start();
  const ma = pool.metricsAddress;
  if (ma) say(`listen: metrics on http://${ma.address.includes(':') ? `[${ma.address}]` : ma.address}:${ma.port}/metrics`);
  for (const f of pool.currentFiles) say(`listen: writing ${f}`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      void pool.stop().then((files) => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        const m = pool.metrics;
        // The totals' status line before the final summary, which is the last line.
        if (!quiet) io.stderr.write(`${renderStatusLine(m, { t: m.startedAt, packets: 0, bytes: 0 })}\n`);
        io.stderr.write(
          `listen: stopped by ${sig}: ${m.packets} packets written (${m.bytes} bytes) to ${files.length} file(s) in ${out} by ${workers} workers, ` +
            `${m.datagrams} datagrams received, ${m.dropped()} dropped, ${m.lostAtFlush} lost at flush, kernel drops ${m.kernelDrops < 0 ? 'unknown' : m.kernelDrops}\n`,
        );
        resolve(0);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
