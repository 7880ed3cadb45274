/**
 * `mirrorlens replay CAPTURE --to HOST:PORT`: re-encapsulate a capture as VXLAN (or GENEVE) and
 * send it to a mirror target (see docs/listen.md).
 */
import type { CliIO, Command } from './command.js';
import { numberOption, parseCommandArgs } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { replayCapture } from '../capture/listen-replay.js';

const USAGE = `Usage: mirrorlens replay CAPTURE --to HOST[:PORT] [options]

Re-encapsulates every packet of a capture (pcap, pcapng, .gz) as VXLAN - as VPC Traffic
Mirroring sends it - or GENEVE, and sends it over UDP: for testing a mirror target.

Options:
  --to HOST[:PORT]  target (port defaults to 4789, or 6081 with --geneve); IPv6 as [addr]:port
  --vni N           VNI for every packet (default: the VNI that 'mirrorlens listen' recorded
                    for the packet's interface, else 1)
  --geneve          GENEVE instead of VXLAN (Ethernet as 0x6558, raw IP as bare IPv4/IPv6)
  --rate PPS        packets per second; 0 = as fast as possible (default: the capture's timing)
  --loop N          send the capture N times (default 1)
  --quiet           no progress lines

Examples:
  mirrorlens replay incident.pcapng --to 10.0.1.20 --vni 4242
  mirrorlens replay big.pcap --to 127.0.0.1:4789 --rate 0 --loop 10
`;

export function parseTarget(to: string, geneve: boolean): { host: string; port: number } {
  const def = geneve ? 6081 : 4789;
  let m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(to);
  if (m) return { host: m[1]!, port: m[2] ? Number(m[2]) : def };
  if ((to.match(/:/g) ?? []).length > 1) return { host: to, port: def };
  m = /^([^:\s]+)(?::(\d+))?$/.exec(to);
  if (!m) throw new MirrorlensError(ErrorCode.Usage, `replay: --to wants HOST[:PORT], got '${to}'`);
  const port = m[2] ? Number(m[2]) : def;
  if (port < 1 || port > 65535) throw new MirrorlensError(ErrorCode.Usage, `replay: port must be 1-65535, got ${port}`);
  return { host: m[1]!, port };
}

export const command: Command = {
  summary: 're-encapsulate a capture as VXLAN (or GENEVE) and send it to a mirror target',
  usage: USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs('replay', argv, {
      to: { type: 'string' },
      vni: { type: 'string' },
      geneve: { type: 'boolean' },
      rate: { type: 'string' },
      loop: { type: 'string' },
      quiet: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new MirrorlensError(ErrorCode.Usage, "replay: give exactly one CAPTURE (see 'mirrorlens replay --help')");
    if (!values.to) throw new MirrorlensError(ErrorCode.Usage, "replay: --to HOST[:PORT] is required (see 'mirrorlens replay --help')");
    const geneve = values.geneve === true;
    const { host, port } = parseTarget(values.to as string, geneve);
    let vni: number | undefined;
    if (values.vni !== undefined) {
      vni = numberOption('replay', 'vni', values.vni as string, 1);
      if (!Number.isInteger(vni) || vni > 0xffffff) throw new MirrorlensError(ErrorCode.Usage, `replay: --vni must be 0-16777215, got '${values.vni}'`);
    }
    const rate = values.rate !== undefined ? numberOption('replay', 'rate', values.rate as string, 0) : undefined;
    const loops = numberOption('replay', 'loop', values.loop as string | undefined, 1);
    const quiet = values.quiet === true;
    const ac = new AbortController();
    const onSig = (): void => ac.abort();
    process.once('SIGINT', onSig);
    try {
      const r = await replayCapture(positionals[0]!, {
        host,
        port,
        encapsulation: geneve ? 'geneve' : 'vxlan',
        vni,
        rate,
        loops: Math.max(1, Math.floor(loops)),
        signal: ac.signal,
        onProgress: quiet ? undefined : (n) => io.stderr.write(`replay: ${n} packets sent\n`),
      }).catch((e: unknown) => {
        if ((e as Error).name === 'AbortError') return null;
        throw e;
      });
      if (r === null) {
        io.stderr.write('replay: interrupted\n');
        return 130;
      }
      const pps = r.seconds > 0 ? Math.round(r.packets / r.seconds) : r.packets;
      io.stderr.write(
        `replay: ${r.packets} packets (${r.bytes} bytes of ${geneve ? 'GENEVE' : 'VXLAN'} payload) sent to ${host}:${port} in ${r.seconds.toFixed(3)} s (${pps} pkt/s)` +
          `${r.skipped ? `, ${r.skipped} skipped (link type not replayable)` : ''}${r.sendErrors ? `, ${r.sendErrors} send errors` : ''}\n`,
      );
      return 0;
    } finally {
      process.off('SIGINT', onSig);
    }
  },
};
