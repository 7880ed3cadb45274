/**
 * `mirrorlens lab`: reproduces load-balancer failures with real parts (curl, nginx as the ALB,
 * Linux conntrack as the NLB, a Node.js target, kernel VXLAN mirroring) in network namespaces it
 * creates and removes, captures them as a mirror target would, and checks the expected verdict.
 * The machinery lives in src/lab/; docs/lab.md describes topology, scenarios and output.
 */
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { numberOption, parseCommandArgs, type CliIO, type Command } from './command.js';
import { aptLine, clean, doctor } from '../lab/doctor.js';
import type { LabResult } from '../lab/result.js';
import { runScenario, type CaptureMode } from '../lab/runner.js';
import { SCENARIOS, findScenario } from '../lab/scenarios.js';

const USAGE = `Usage: mirrorlens lab run SCENARIO [--out DIR] [--keep] [--json]
                      [--capture auto|listen|tcpdump]
                      [--nat preserve|snat] [--mirror lb|target|all] [--live]
                      [--connections N] [--requests N] [--concurrency N]
       mirrorlens lab list
       mirrorlens lab doctor
       mirrorlens lab clean [--all]

Reproduces a load-balancer failure with real parts in network namespaces (root
needed): client (curl, SSLKEYLOGFILE) → "ALB" (nginx, TLS 1.2/1.3, h2,
keep-alive pool, ALB access log) → "NLB" (DNAT + conntrack, RST on expired
flows, idle timeout scaled to seconds) → target (Node.js). The ALB's
interfaces and the target's are mirrored by tc into VXLAN and captured in a
collector namespace by 'mirrorlens listen' (or tcpdump, --capture tcpdump).
The run's files go to --out (default .lab/SCENARIO-TIME): capture/, keys.log,
alb-access.log, flow.log, target.log, client.log, nginx-error.log, nginx.conf,
scenario.json, result.json, analyze.json.
Exit status: 0 when every check (and the verdict) holds, 1 otherwise.

  -o, --out DIR      output directory (created; old capture files in it are
                     replaced)
      --keep         keep the run's temp dir (nginx config, certs, raw
                     captures) and print its path
      --capture MODE auto (the default: listen), listen or tcpdump
  -j, --json         print result.json instead of the summary
      --no-analyze   do not run 'mirrorlens analyze' (no verdict check)
      --connections N, --requests N, --concurrency N   the load scenario's size
      --all          (lab clean) also runs whose lab process is alive
      --nat MODE     the NLB's NAT: snat (the default: client IP preservation
                     off, the AWS default for IP targets: its own address and a
                     port of its own toward the target) or preserve
      --mirror SET   which ENIs the analysis gets: lb (the ALB's), target (the
                     target's) or all (the default); the lab still records all
      --live         the collectors also analyze live (listen --analyze-json):
                     live-SET.jsonl

Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')} (mirrorlens lab list).
`;

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function summary(r: LabResult): string {
  const lines = [`lab ${r.scenario}: ${r.ok ? 'OK' : 'FAILED'} in ${r.durationSeconds.toFixed(1)} s (capture by ${r.captureMode}; analyze ${r.analyzeStatus})`];
  for (const c of r.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  if (r.verdict) lines.push(`  verdict: ${r.verdict.kind} (${r.verdict.status ?? '-'} ${r.verdict.path ?? ''}) ${r.verdict.summary}`);
  lines.push(`  output: ${r.outDir}`);
  return `${lines.join('\n')}\n`;
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('lab run', argv, {
    out: { type: 'string' },
    keep: { type: 'boolean' },
    capture: { type: 'string' },
    json: { type: 'boolean' },
    'no-analyze': { type: 'boolean' },
    connections: { type: 'string' },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    nat: { type: 'string' },
    mirror: { type: 'string' },
    live: { type: 'boolean' },
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) throw new MirrorlensError(ErrorCode.Usage, `run: name one scenario (${SCENARIOS.map((s) => s.name).join(', ')})`);
  const s = findScenario(name);
  if (!s) throw new MirrorlensError(ErrorCode.Usage, `run: unknown scenario '${name}' (see 'mirrorlens lab list')`);
  const capture = (values.capture as string | undefined) ?? 'auto';
  if (!['auto', 'listen', 'tcpdump'].includes(capture)) throw new MirrorlensError(ErrorCode.Usage, `run: --capture wants auto, listen or tcpdump, got '${capture}'`);
  const nat = (values.nat as string | undefined) ?? 'snat';
  if (nat !== 'snat' && nat !== 'preserve') throw new MirrorlensError(ErrorCode.Usage, `run: --nat wants preserve or snat, got '${nat}'`);
  const mirror = (values.mirror as string | undefined) ?? 'all';
  if (mirror !== 'lb' && mirror !== 'target' && mirror !== 'all') throw new MirrorlensError(ErrorCode.Usage, `run: --mirror wants lb, target or all, got '${mirror}'`);
  const load: NonNullable<Parameters<typeof runScenario>[1]['load']> = {};
  for (const k of ['connections', 'requests', 'concurrency'] as const) {
    const v = values[k] as string | undefined;
    if (v !== undefined) {
      if (!s.load) throw new MirrorlensError(ErrorCode.Usage, `run: --${k} applies to the load scenario only`);
      const n = numberOption('lab run', k, v, 0);
      if (n < 1 || !Number.isInteger(n)) throw new MirrorlensError(ErrorCode.Usage, `run: --${k} wants a positive integer, got '${v}'`);
      load[k] = n;
    }
  }
  const outDir = (values.out as string | undefined) ?? `.lab/${s.name}-${stamp()}`;
  const started = Date.now();
  const ac = new AbortController();
  const onSignal = (): void => {
    io.stderr.write('lab: interrupted, tearing down\n');
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const r = await runScenario(s, {
      outDir,
      keep: values.keep === true,
      capture: capture as CaptureMode,
      load,
      analyze: values['no-analyze'] !== true,
      nat,
      mirror,
      live: values.live === true,
      signal: ac.signal,
      log: (l) => io.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${l}\n`),
    });
    io.stdout.write(values.json ? `${JSON.stringify(r, null, 2)}\n` : summary(r));
    return r.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const command: Command = {
  summary: 'reproduce load-balancer failures with real nginx/curl/conntrack in network namespaces',
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'run':
        return run(rest, io);
      case 'list': {
        const w = Math.max(...SCENARIOS.map((s) => s.name.length));
        for (const s of SCENARIOS) io.stdout.write(`${s.name.padEnd(w)}  expects ${s.expectKind ?? 'no finding'} (${s.expectStatus})  ${s.summary}\n`);
        return 0;
      }
      case 'doctor': {
        const items = await doctor();
        for (const i of items) io.stdout.write(`${i.ok ? 'ok     ' : 'MISSING'} ${i.what.padEnd(9)} ${i.detail}\n`);
        const apt = aptLine(items);
        if (apt) io.stdout.write(`\nInstall what is missing (Debian/Ubuntu):\n  ${apt}\n`);
        else io.stdout.write('\nEverything the lab needs is here.\n');
        return items.every((i) => i.ok) ? 0 : 1;
      }
      case 'clean': {
        if (process.getuid?.() !== 0) throw new MirrorlensError(ErrorCode.Lab, 'lab clean: needs root (network namespaces)');
        const { values } = parseCommandArgs('lab clean', rest, { all: { type: 'boolean' } });
        const r = await clean(undefined, { all: values.all === true });
        io.stdout.write(`removed ${r.namespaces.length} namespace(s)${r.namespaces.length ? ` (${r.namespaces.join(', ')})` : ''}, ended ${r.processes.length} process(es), removed ${r.tempDirs.length} temp dir(s)\n`);
        return 0;
      }
      default:
        throw new MirrorlensError(ErrorCode.Usage, `${sub === undefined ? 'missing' : `unknown`} subcommand${sub ? ` '${sub}'` : ''} (run, list, doctor, clean; see 'mirrorlens lab --help')`);
    }
  },
};
