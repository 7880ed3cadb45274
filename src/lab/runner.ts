/**
 * One lab run: build the namespaces, start the collector, the target, the "ALB" (nginx), drive the
 * client (curl with SSLKEYLOGFILE, or the load client), stop everything, turn the capture into one
 * self-contained pcapng, check the scenario's facts and the verdict mirrorlens analyze gives, write
 * the run's output directory. Teardown (processes by pid, namespaces, the temp dir) always runs:
 * on success, on failure and on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { H2_CLIENT, LOAD_CLIENT, TARGET_SERVER, mirrorlensArgv } from './assets.js';
import { runChecks } from './checks.js';
import { captureDirOf, mirrorTargets, startCollectors, stopCollectors, type Collector } from './collectors.js';
import { flowLogLines, readDroppedSyns, type DroppedSyn } from './flowlog.js';
import { nginxConfig } from './nginx.js';
import { readGoaways, readIcmpErrors, readPackets } from './packets.js';
import { ProcessGroup, exec, sleep, type Daemon } from './proc.js';
import type { CheckResult, ClientResult, LabResult } from './result.js';
import type { Scenario } from './scenarios.js';
import { ADDR, MIRROR_SESSIONS, NS_PREFIX, Topology, type MirrorSet, type NatMode } from './topology.js';
import { pickVerdict, verdictChecks } from './verdict.js';

export type CaptureMode = 'auto' | 'listen' | 'tcpdump';

export interface RunOptions {
  outDir: string;
  /** Keep the run's temp dir (nginx config, certs, pid files) and print where it is. */
  keep?: boolean;
  capture?: CaptureMode;
  /** Override the load scenario's size. */
  load?: Partial<{ connections: number; requests: number; concurrency: number }>;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Aborts the run (SIGINT); teardown still happens. */
  signal?: AbortSignal;
  /** Test hook: throw after this stage to prove teardown on failure. */
  failAfter?: 'topology' | 'daemons' | 'client';
  /** Run `mirrorlens analyze` and check its verdict (default true). */
  analyze?: boolean;
  /**
   * A fleet instead of one collector: one `mirrorlens listen` per mirror target address (the ALB's
   * ENI sessions to one, the target's ENI session to another), each given `listenArgs(name)`
   * (e.g. --store, --node). `onTopology` runs once the namespaces exist (collector namespace given).
   */
  fleet?: { listenArgs(listener: 'alb-eni' | 'target-eni'): string[]; onTopology?(collectorNs: string): Promise<void> };
  /** Sees every long-running process of the run as it starts (name, pid, its stderr so far). */
  onDaemon?(d: Daemon): void;
  /** The NLB's NAT mode (default `snat`: client IP preservation off, the AWS default for IP targets). */
  nat?: NatMode;
  /** Which ENIs are mirrored for the analysis (`analyze.json`); default `all`. */
  mirror?: MirrorSet;
  /** More mirror sets to capture at the same time, each by a collector of its own (`mirror-SET/`). */
  mirrorSets?: MirrorSet[];
  /** The collectors also analyze live (`listen --analyze-json`): their findings in `live-SET.jsonl`. */
  live?: boolean;
}

function abortable(signal: AbortSignal | undefined, ms: number): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) return Promise.reject(new MirrorlensError(ErrorCode.Lab, 'interrupted'));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new MirrorlensError(ErrorCode.Lab, 'interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MirrorlensError(ErrorCode.Lab, 'interrupted');
}

async function waitForPort(ns: string, port: number, timeoutMs: number, what: string, proto: 't' | 'u' = 't'): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const r = await exec('ss', [`-Hln${proto}`, `sport = :${port}`], { ns, allowFail: true });
    if (r.stdout.trim()) return;
    await sleep(50);
  }
  throw new MirrorlensError(ErrorCode.Lab, `${what} is not listening on port ${port} after ${timeoutMs} ms`);
}

async function makeCert(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'alb-cert.pem');
  const key = join(dir, 'alb-key.pem');
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${ADDR.albHost}`, '-addext', `subjectAltName=DNS:${ADDR.albHost}`]);
  return { cert, key };
}

/**
 * One curl in the client namespace; returns what it saw (curl's own -w json). The URL is given on
 * stdin (`-K -`): with `go`, curl is started first and sends the request the moment `go` resolves
 * (no process start-up in between: keepalive-race needs the request out within ~0.1 s).
 */
async function curl(ns: string, s: Scenario, path: string, cert: string, keylog: string, go?: Promise<void>, maxTimeSeconds = 20): Promise<ClientResult> {
  const args = ['-sS', '-o', '/dev/null', '-w', '%{json}', '--max-time', String(maxTimeSeconds), '--resolve', `${ADDR.albHost}:443:${ADDR.albFront}`, '--cacert', cert];
  args.push(s.client.http2 ? '--http2' : '--http1.1');
  if (s.client.tls12Cipher) args.push('--tlsv1.2', '--tls-max', '1.2', '--ciphers', s.client.tls12Cipher);
  args.push('-K', '-');
  let startTime = Date.now() / 1000;
  const config = `url = "https://${ADDR.albHost}${path}"\n`;
  const input = go ? go.then(() => ((startTime = Date.now() / 1000), config)) : config;
  const r = await exec('curl', args, { ns, env: { ...process.env, SSLKEYLOGFILE: keylog }, allowFail: true, timeoutMs: 60_000, input });
  const endTime = Date.now() / 1000;
  try {
    const j = JSON.parse(r.stdout) as { http_code?: number; http_version?: string; errormsg?: string | null };
    return { path, status: j.http_code ?? 0, httpVersion: j.http_version ?? '', startTime, endTime, ...(r.code !== 0 ? { error: j.errormsg ?? r.stderr.trim() } : {}) };
  } catch {
    return { path, status: 0, httpVersion: '', startTime, endTime, error: r.stderr.trim() || `curl exit ${r.code}` };
  }
}

/**
 * Every request of the scenario in one curl, at once (`--parallel`): on HTTP/2 curl waits for the
 * first connection and multiplexes the others on it as streams 1, 3, 5, ... A stream the server
 * refuses with GOAWAY is sent again on a new connection (curl's own retry); `-w '%{json}\n'`
 * prints one line per transfer, in the order they finished.
 */
async function curlParallel(ns: string, s: Scenario, cert: string, keylog: string): Promise<ClientResult[]> {
  const args = ['-sS', '--parallel', '--parallel-max', '10', '-w', '%{json}\n', '--max-time', '20', '--resolve', `${ADDR.albHost}:443:${ADDR.albFront}`, '--cacert', cert];
  args.push(s.client.http2 ? '--http2' : '--http1.1', '-K', '-');
  const config = s.requests.map((rq) => `url = "https://${ADDR.albHost}${rq.path}"\noutput = "/dev/null"\n`).join('');
  const startTime = Date.now() / 1000;
  const r = await exec('curl', args, { ns, env: { ...process.env, SSLKEYLOGFILE: keylog }, allowFail: true, timeoutMs: 60_000, input: config });
  const endTime = Date.now() / 1000;
  const byPath = new Map<string, ClientResult>();
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    try {
      const j = JSON.parse(line) as { url_effective?: string; http_code?: number; http_version?: string; errormsg?: string | null; exitcode?: number };
      const path = j.url_effective ? new URL(j.url_effective).pathname : '';
      byPath.set(path, { path, status: j.http_code ?? 0, httpVersion: j.http_version ?? '', startTime, endTime, ...(j.exitcode ? { error: j.errormsg ?? `curl exit ${j.exitcode}` } : {}) });
    } catch {
      // not a -w line
    }
  }
  return s.requests.map((rq) => byPath.get(rq.path) ?? { path: rq.path, status: 0, httpVersion: '', startTime, endTime, error: r.stderr.trim() || `curl exit ${r.code}: no result for ${rq.path}` });
}

/** Every request at once on one HTTP/2 connection by Node's http2 client, which does not retry (lab/h2-client.mjs). */
async function h2NoRetry(ns: string, s: Scenario, cert: string, keylog: string): Promise<ClientResult[]> {
  const opts = { ip: ADDR.albFront, host: ADDR.albHost, port: 443, ca: cert, keylog, paths: s.requests.map((rq) => rq.path) };
  const r = await exec(process.execPath, [H2_CLIENT, JSON.stringify(opts)], { ns, allowFail: true, timeoutMs: 60_000 });
  const got = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ClientResult);
  if (got.length !== s.requests.length) throw new MirrorlensError(ErrorCode.Lab, `${s.name}: the h2 client gave ${got.length} results for ${s.requests.length} requests (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  return got;
}

export async function runScenario(s: Scenario, o: RunOptions): Promise<LabResult> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  if (process.getuid?.() !== 0) throw new MirrorlensError(ErrorCode.Lab, 'lab: needs root (network namespaces, tc, iptables); run it with sudo');
  const outDir = resolve(o.outDir);
  mkdirSync(outDir, { recursive: true });
  const capDir = join(outDir, 'capture');
  mkdirSync(capDir, { recursive: true });
  const runId = randomBytes(6).toString('hex');
  // `mlab<pid>-<3 hex>-`: unique per run, and `lab clean` can tell whether its run is alive.
  const prefix = `${NS_PREFIX}${process.pid}-${runId.slice(0, 3)}-`;
  const runDir = mkdtempSync(join(tmpdir(), `${prefix}`));
  const files = {
    keylog: join(outDir, 'keys.log'),
    albLog: join(outDir, 'alb-access.log'),
    flowLog: join(outDir, 'flow.log'),
    targetLog: join(outDir, 'target.log'),
    clientLog: join(outDir, 'client.log'),
    nginxError: join(outDir, 'nginx-error.log'),
    nginxConf: join(runDir, 'nginx.conf'),
  };
  for (const f of [files.keylog, files.albLog, files.targetLog, files.clientLog]) writeFileSync(f, '');
  // Nothing from an earlier run in the same --out may leak into this one's checks or analysis.
  for (const f of [files.flowLog, files.nginxError, join(outDir, 'analyze.json'), join(outDir, 'result.json')]) rmSync(f, { force: true });
  for (const f of readdirSync(capDir)) rmSync(join(capDir, f), { force: true });

  // mirrorlens listen and analyze run as programs (assets.ts): 'auto' is listen.
  const mode: 'listen' | 'tcpdump' = (o.capture ?? 'auto') === 'tcpdump' ? 'tcpdump' : 'listen';
  const runAnalyze = o.analyze !== false;

  const nat: NatMode = o.nat ?? 'snat';
  const mirror: MirrorSet = o.mirror ?? 'all';
  // The `all` collector is always there: the lab's own complete record.
  const sets: MirrorSet[] = mode === 'tcpdump' || o.fleet ? ['all'] : ['all', ...new Set([...(o.mirrorSets ?? []), mirror].filter((x) => x !== 'all'))];
  if (!sets.includes(mirror)) throw new MirrorlensError(ErrorCode.Lab, `--mirror ${mirror} needs the listen collectors (not --capture tcpdump or a fleet)`);
  const topo = new Topology({ prefix, nlbIdleSeconds: s.nlbIdleSeconds, nat, mirrorTargets: o.fleet ? undefined : mirrorTargets(sets) });
  let collectors: Collector[] = [];
  const mirrorCaptures: Partial<Record<MirrorSet, string[]>> = {};
  let dropped: DroppedSyn[] = [];
  const procs = new ProcessGroup(o.onDaemon);
  const clients: ClientResult[] = [];
  let loadSummary: unknown;
  let captureFiles: string[] = [];
  let listenSummary: string | undefined;
  let checks: CheckResult[] = [];
  let analyzeStatus: LabResult['analyzeStatus'] = runAnalyze ? 'ran' : 'skipped';
  let verdict: LabResult['verdict'] = null;
  const startEpoch = Math.floor(Date.now() / 1000);
  try {
    log(`lab ${s.name}: building namespaces ${prefix}{client,alb,nlb,target,collector} (NLB ${nat === 'snat' ? 'without client IP preservation' : 'preserving client IPs'}; mirrored for analysis: ${sets.filter((x) => x === mirror || (o.mirrorSets ?? []).includes(x)).join(', ')})`);
    await topo.up();
    log(`lab ${s.name}: namespaces up`);
    if (o.fleet?.onTopology) await o.fleet.onTopology(topo.ns.collector);
    let tapD: Daemon | undefined;
    const tapFile = join(runDir, 'sgdrop.pcap');
    if (s.synDrop || s.naclReturn) {
      const dev = s.synDrop ? await topo.dropSynsAtTarget() : await topo.dropSynAcksFromTarget();
      tapD = procs.start('tcpdump drop tap', 'tcpdump', ['-i', dev, '-n', '-U', '-s', '0', '-w', tapFile], { ns: topo.ns.nlb });
      await tapD.waitFor(/listening on/, 10_000);
    }
    if (s.icmpReject) await topo.rejectSyns(s.icmpReject);
    if (s.clientUplinkKbit) await topo.shapeClientUplink(s.clientUplinkKbit);
    if (s.holdFinMs) await topo.holdTargetFins(s.holdFinMs, (s.target.bodyBytes ?? 0) + 250);
    if (o.failAfter === 'topology') throw new MirrorlensError(ErrorCode.Lab, 'forced failure after topology (test)');
    checkAbort(o.signal);

    // Collector.
    const rawCaptures: string[] = [];
    let listenD: Daemon | undefined;
    const fleetD: Daemon[] = [];
    const dumps: Daemon[] = [];
    if (mode === 'listen' && o.fleet) {
      // Each listener binds the address its sessions are sent to; file prefixes keep their captures apart.
      for (const [name, addr, role] of [['alb-eni', ADDR.collectorFromAlb, 'alb'], ['target-eni', ADDR.collectorFromNlb, 'nlb']] as const) {
        const sessions = MIRROR_SESSIONS.filter((m) => m.role === role).flatMap((m) => ['--session', `${m.vni}=${m.name}`]);
        const args = ['listen', '--out', capDir, '--prefix', name, '--bind', addr, '--keylog', files.keylog, '--geneve-port', '0', '--status-seconds', '0', ...sessions, ...o.fleet.listenArgs(name)];
        fleetD.push(procs.start(`mirrorlens listen ${name}`, process.execPath, mirrorlensArgv(args), { ns: topo.ns.collector }));
      }
      for (const d of fleetD) await d.waitFor(/listen: writing/, 20_000);
      log(`lab ${s.name}: listeners up (pids ${fleetD.map((d) => d.pid).join(', ')})`);
    } else if (mode === 'listen') {
      collectors = await startCollectors(procs, topo.ns.collector, outDir, sets, files.keylog, o.live === true);
      listenD = collectors[0]!.daemon;
    } else {
      for (const dev of ['fromalb', 'fromnlb']) {
        const f = join(runDir, `${dev}.pcap`);
        rawCaptures.push(f);
        const d = procs.start(`tcpdump ${dev}`, 'tcpdump', ['-i', dev, '-n', '-U', '-s', '0', '-w', f, 'udp', 'dst', 'port', '4789'], { ns: topo.ns.collector });
        dumps.push(d);
        await d.waitFor(/listening on/, 10_000);
      }
      // No socket on 4789 here: keep the kernel from answering each datagram with ICMP port unreachable.
      await exec('iptables', ['-A', 'OUTPUT', '-p', 'icmp', '--icmp-type', 'port-unreachable', '-j', 'DROP'], { ns: topo.ns.collector });
    }

    // Target (the certificate serves the ALB, and the target when it speaks HTTPS).
    const { cert, key } = await makeCert(runDir);
    if (s.target.listen) {
      const opts = {
        host: '0.0.0.0', port: ADDR.targetPort, keepAliveTimeoutMs: s.target.keepAliveTimeoutMs, log: files.targetLog, crashPath: '/crash', closePath: '/close', slowPath: '/slow',
        slowMs: s.target.slowMs ?? 0, bodyBytes: s.target.bodyBytes ?? 0, bigHeaderBytes: s.target.bigHeaderBytes ?? 0, shortBodyMissing: s.target.shortBodyMissing ?? 0,
        ...(s.target.tls ? { tls: { cert, key, minVersion: s.target.tls.minVersion, maxVersion: s.target.tls.maxVersion } } : {}),
      };
      const d = procs.start('target', process.execPath, [TARGET_SERVER, JSON.stringify(opts)], { ns: topo.ns.target });
      await d.waitFor(/target listening/, 10_000);
    }

    // ALB.
    const isLoad = s.load !== undefined;
    writeFileSync(
      files.nginxConf,
      nginxConfig({
        runDir,
        accessLog: files.albLog,
        errorLog: files.nginxError,
        cert,
        key,
        albIdleSeconds: s.albIdleSeconds,
        readTimeoutSeconds: s.readTimeoutSeconds,
        connectTimeoutSeconds: s.connectTimeoutSeconds,
        keepaliveConnections: isLoad ? 256 : 16,
        workers: 1,
        startEpochSeconds: startEpoch,
        // seconds of trace-id hex times tabulated in the config (beyond: the start second)
        traceSpanSeconds: isLoad ? 7200 : 900,
        runId,
        ...(s.albKeepaliveRequests !== undefined ? { keepaliveRequests: s.albKeepaliveRequests } : {}),
        ...(s.upstreamTlsProtocols ? { upstreamTlsProtocols: s.upstreamTlsProtocols } : {}),
      }),
    );
    await exec('nginx', ['-t', '-q', '-p', runDir, '-c', files.nginxConf], { ns: topo.ns.alb, env: { ...process.env, TZ: 'UTC' } });
    procs.start('nginx', 'nginx', ['-p', runDir, '-c', files.nginxConf, '-g', 'daemon off;'], { ns: topo.ns.alb, env: { ...process.env, TZ: 'UTC' } });
    await waitForPort(topo.ns.alb, 443, 10_000, 'nginx');
    log(`lab ${s.name}: target and nginx up`);
    if (o.failAfter === 'daemons') throw new MirrorlensError(ErrorCode.Lab, 'forced failure after starting the daemons (test)');
    log(`lab ${s.name}: ${s.summary}`);

    // Client.
    if (s.load) {
      const p = { ...s.load, ...o.load };
      log(`lab ${s.name}: ${p.connections} TLS connections, ${p.requests} requests, ${p.concurrency} at a time`);
      const r = await exec(process.execPath, [LOAD_CLIENT, JSON.stringify({ ip: ADDR.albFront, host: ADDR.albHost, port: 443, ca: cert, keylog: files.keylog, ...p })], { ns: topo.ns.client, timeoutMs: 1_800_000 });
      loadSummary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as unknown;
      appendFileSync(files.clientLog, `${JSON.stringify(loadSummary)}\n`);
    } else if (s.client.parallel) {
      const cs = s.client.noRetry ? await h2NoRetry(topo.ns.client, s, cert, files.keylog) : await curlParallel(topo.ns.client, s, cert, files.keylog);
      for (const c of cs) {
        clients.push(c);
        appendFileSync(files.clientLog, `${JSON.stringify(c)}\n`);
        log(`  ${new Date(c.startTime * 1000).toISOString()} GET ${c.path} → ${c.status || c.error}`);
      }
    } else {
      for (const rq of s.requests) {
        if (rq.waitMs > 0) await abortable(o.signal, rq.waitMs);
        checkAbort(o.signal);
        let go: Promise<void> | undefined;
        if (rq.afterTargetClose) {
          go = (async () => {
            const t1 = Date.now();
            while (!/"event":"close"/.test(readFileSync(files.targetLog, 'utf8'))) {
              if (Date.now() - t1 > 15_000) throw new MirrorlensError(ErrorCode.Lab, `${s.name}: the target did not close its keep-alive connection within 15 s`);
              await abortable(o.signal, 2);
            }
          })();
          go.catch(() => {});
        }
        // deregistered: the ALB drops its connections to the target while this request is in flight
        // (its deregistration delay ran out): SOCK_DESTROY aborts nginx's upstream sockets, which
        // sends the target a RST and fails nginx's read (a 502).
        const drop = s.deregisterAfterMs !== undefined && rq.path === s.expectPath
          ? abortable(o.signal, s.deregisterAfterMs).then(() => exec('ss', ['-K', 'dst', ADDR.nlbVip, 'dport', '=', String(ADDR.nlbPort)], { ns: topo.ns.alb, allowFail: true }))
          : null;
        drop?.catch(() => {});
        const c = await curl(topo.ns.client, s, rq.path, cert, files.keylog, go, rq.clientTimeoutSeconds);
        if (go) await go;
        if (drop) await drop;
        clients.push(c);
        appendFileSync(files.clientLog, `${JSON.stringify(c)}\n`);
        log(`  ${new Date(c.startTime * 1000).toISOString()} GET ${rq.path} → ${c.status || c.error}`);
      }
    }
    if (o.failAfter === 'client') throw new MirrorlensError(ErrorCode.Lab, 'forced failure after the client ran (test)');
    // Let the last packets (FINs, RSTs, mirrored copies, key log lines) arrive.
    await abortable(o.signal, 500);
    log(`lab ${s.name}: client done; stopping the path`);

    // Stop the path, then the collector, so everything sent is captured.
    const collecting = new Set<Daemon>([...dumps, ...fleetD, ...collectors.map((c) => c.daemon)]);
    for (const d of procs.daemons.filter((x) => !collecting.has(x) && x !== tapD)) await procs.stop(d, d.name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
    await sleep(200);
    if (fleetD.length) {
      for (const d of fleetD) {
        log(`lab ${s.name}: stopping ${d.name} (pid ${d.pid})`);
        await procs.stop(d, 'SIGTERM', 30_000);
      }
      listenSummary = fleetD.map((d) => d.stderr().split('\n').filter((l) => l.startsWith('listen: stopped by') || l.startsWith('listen: store')).join(' / ')).join(' | ');
      captureFiles = readdirSync(capDir).filter((f) => f.endsWith('.pcapng')).sort().map((f) => join(capDir, f));
      if (captureFiles.length === 0) throw new MirrorlensError(ErrorCode.Lab, `the fleet's listeners wrote no capture into ${capDir}: ${fleetD.map((d) => d.stderr().trim().split('\n').slice(-2).join(' / ')).join(' | ')}`);
    } else if (listenD) {
      const stopped = await stopCollectors(procs, collectors);
      listenSummary = stopped.summary;
      Object.assign(mirrorCaptures, stopped.files);
      captureFiles = stopped.files.all ?? [];
      if (captureFiles.length === 0) throw new MirrorlensError(ErrorCode.Lab, `mirrorlens listen wrote no capture into ${capDir}: ${listenD.stderr().trim().split('\n').slice(-2).join(' / ')}`);
      for (const c of collectors) if (o.live) writeFileSync(join(outDir, `live-${c.set}.jsonl`), c.live.map((f) => `${JSON.stringify(f)}\n`).join(''));
    } else {
      for (const d of dumps) await procs.stop(d, 'SIGINT', 5000);
      const merged = join(runDir, 'merged.pcapng');
      await exec('mergecap', ['-F', 'pcapng', '-w', merged, ...rawCaptures]);
      const final = join(capDir, 'mirror.pcapng');
      if (statSync(files.keylog).size > 0) await exec('editcap', ['--inject-secrets', `tls,${files.keylog}`, merged, final]);
      else copyFileSync(merged, final);
      captureFiles = [final];
    }
    log(`lab ${s.name}: path stopped`);
    log(`lab ${s.name}: captured ${captureFiles.map((f) => `${f} (${statSync(f).size} bytes)`).join(', ')}`);

    // Facts.
    log(`lab ${s.name}: checking`);
    const pkts: Awaited<ReturnType<typeof readPackets>> = [];
    for (const f of captureFiles) for (const p of await readPackets(f, files.keylog, { targetTls: s.upstreamTlsProtocols !== undefined })) pkts.push(p); // no spread: load has ~10^6 packets
    pkts.sort((a, b) => a.time - b.time);
    if (tapD) {
      await procs.stop(tapD, 'SIGINT', 5000);
      dropped = await readDroppedSyns(tapFile, s.naclReturn === true);
    }
    if (s.synDrop || s.naclReturn) writeFileSync(files.flowLog, `${flowLogLines(pkts, dropped).join('\n')}\n`);
    const icmp: Awaited<ReturnType<typeof readIcmpErrors>> = [];
    if (s.icmpReject) for (const f of captureFiles) icmp.push(...(await readIcmpErrors(f)));
    const goaways: Awaited<ReturnType<typeof readGoaways>> = [];
    if (s.goaway) for (const f of captureFiles) goaways.push(...(await readGoaways(f, files.keylog)));
    checks = runChecks(s, { pkts, albLog: files.albLog, targetLog: files.targetLog, clients, load: loadSummary as never, flowLog: existsSync(files.flowLog) ? files.flowLog : undefined, icmp, goaways });

    // Verdict.
    if (runAnalyze) {
      log(`lab ${s.name}: analyzing`);
      const analyzed = mirrorCaptures[mirror] ?? captureFiles;
      const args = ['analyze', ...analyzed, '--keylog', files.keylog, '--alb-log', files.albLog, '--format', 'json', '--out', join(outDir, 'analyze.json')];
      if (existsSync(files.flowLog)) args.push('--flow-log', files.flowLog);
      const r = await exec(process.execPath, mirrorlensArgv(args), { allowFail: true, timeoutMs: 600_000 });
      if (r.code !== 0 || !existsSync(join(outDir, 'analyze.json'))) {
        analyzeStatus = 'failed';
        checks.push({ name: 'analyze runs', ok: false, detail: `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}` });
      } else {
        const report = JSON.parse(readFileSync(join(outDir, 'analyze.json'), 'utf8')) as unknown;
        verdict = pickVerdict(s, report);
        checks.push(...verdictChecks(s, verdict, report, mirror));
      }
    }
  } finally {
    log(`lab ${s.name}: tearing down`);
    await procs.stopAll();
    await topo.down();
    if (existsSync(files.nginxConf)) copyFileSync(files.nginxConf, join(outDir, 'nginx.conf'));
    if (o.keep) log(`lab ${s.name}: kept the run's temp dir ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
  const result: LabResult = {
    scenario: s.name,
    ok: checks.length > 0 && checks.every((c) => c.ok),
    outDir,
    captureMode: mode,
    captureFiles,
    nat,
    mirror,
    mirrorCaptures,
    ...(o.live ? { live: Object.fromEntries(collectors.map((c) => [c.set, c.live])) } : {}),
    checks,
    client: clients,
    ...(loadSummary !== undefined ? { load: loadSummary } : {}),
    verdict,
    analyzeStatus,
    ...(listenSummary !== undefined ? { listenSummary } : {}),
    durationSeconds: (Date.now() - t0) / 1000,
  };
  writeFileSync(join(outDir, 'scenario.json'), `${JSON.stringify({ scenario: s, addresses: ADDR, mirrorSessions: MIRROR_SESSIONS, nat, mirror, captures: Object.fromEntries(sets.map((x) => [x, captureDirOf(outDir, x)])) }, null, 2)}\n`);
  writeFileSync(join(outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
