/**
 * `mirrorlens read CAPTURE...`: packets one a line (tshark-like) or as JSON lines, with a display
 * filter. Prints decoded fields only (numbers, addresses, names we choose), never captured bytes,
 * so nothing from the capture needs escaping.
 */
import type { CliIO, Command } from './command.js';
import { captureArgs, numberOption, parseCommandArgs } from './command.js';
import { expandCaptureInputs, fileProblem } from '../capture/inputs.js';
import { requirePackets } from '../flow/pipeline.js';
import type { CaptureSummary } from '../capture/record.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { readCapture, READ_CHUNK } from '../capture/reader.js';
import type { PacketRecord } from '../capture/record.js';
import { PacketDecoder, Layer, LAYER_NAMES, ipv4ToString, ipv6ToString } from '../wire/packet.js';
import type { PacketDecoderOptions } from '../wire/packet.js';
import { STATUS_NAMES, Status } from '../wire/status.js';
import { ANOMALIES, AnomalyLog } from '../wire/anomaly.js';
import { compileFilter } from '../wire/display-filter.js';
import type { PacketContext, PacketPredicate } from '../wire/display-filter.js';
import { interfaceContext } from '../capture/interface-point.js';
import { TcpView } from '../wire/tcp.js';
import { isoMs } from '../capture/time-text.js';

const USAGE = `Usage: mirrorlens read CAPTURE... [options]

Prints the packets of pcap / pcapng captures (gzip-compressed too; '-' reads
stdin), one a line like tshark, decoding Ethernet/VLAN/SLL/loopback/raw IP,
IPv4/IPv6, TCP/UDP/ICMP and VXLAN/GENEVE tunnels (outer carrier and inner
packet both shown). CAPTURE may be a directory (listen --out: its files in time
order) or a quoted glob; -r FILE names one too.

Options:
  -j, --json             one JSON object per packet (JSON lines)
  -f, --filter EXPR      only packets the filter matches (grammar below), e.g.
                         "host 10.0.0.1 and port 443 and vni 42"
      --mirror-filter FILE  only packets these AWS Traffic Mirror filter rules
                         accept (the file listen --filter takes), applied to
                         the mirrored frame inside VXLAN/GENEVE
  -c, --count N          stop after N printed packets
      --absolute-time    ISO-8601 UTC times instead of seconds since the first
      --checksums        validate IPv4/TCP/UDP/ICMP checksums (off by default:
                         mirrored packets are often cut or checksum-offloaded)
      --vxlan-port N     UDP port carrying VXLAN (repeatable; default 4789 and
                         8472)
      --geneve-port N    UDP port carrying GENEVE (repeatable; default 6081)
      --max-depth N      tunnel nesting decoded (default 4)
      --stats            packet and status counts, and each anomaly (count,
                         first frame), on stderr

Line format:
  FRAME TIME [OUTER_SRC → OUTER_DST VXLAN|GENEVE vni=N |] SRC:PORT → DST:PORT
  PROTO LENGTH info
  LENGTH is the frame's length on the wire; TCP info: [FLAGS] seq= ack= win=
  len= (payload bytes, raw sequence numbers) and options; 'caplen=N' when the
  capture kept fewer bytes; a status other than ok is appended as
  !truncated(reason) / !malformed(...); a protocol not decoded (ARP, ...) as
  [what was not decoded], which is no fault of the packet.

Filter grammar: tcpdump-style capture-filter words (not Wireshark's display
filter language), applied to decoded packets; 'and' binds tighter than 'or';
juxtaposition is 'and':
  [inner|outer] [src|dst] host ADDR | net ADDR/LEN | port N | portrange N-M
  | ADDR | ADDR/LEN   vni N   vlan [N]   tcp udp icmp icmp6 ip ip6 vxlan
  geneve gwlb tunnel fragment   syn ack fin rst psh   ok truncated malformed
  unsupported   not/! and/&& or/|| ( )
  Protocol words match a layer anywhere in the packet, as in tshark (udp
  matches VXLAN traffic); host/port match any layer unless 'inner' (innermost
  packet) or 'outer' (tunnel carrier) is given. vni N also matches the packets
  listen decapsulated from VNI N.
Wireshark field comparisons are accepted too: ip.addr, ip.src, ip.dst,
ipv6.addr, tcp.port, tcp.srcport, tcp.dstport (and udp.*), vxlan.vni,
geneve.vni, vlan.id, tcp.flags.syn/ack/fin/reset/push, with == or !=, e.g.
"tcp.port == 443 && ip.addr == 10.0.0.1".
`;

export const command: Command = {
  summary: 'print packets of captures (pcap, pcapng, .gz), one a line or as JSON',
  usage: USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values, positionals: args } = parseCommandArgs('read', argv, {
      read: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      filter: { type: 'string' },
      'mirror-filter': { type: 'string' },
      count: { type: 'string' },
      'absolute-time': { type: 'boolean' },
      checksums: { type: 'boolean' },
      'vxlan-port': { type: 'string', multiple: true },
      'geneve-port': { type: 'string', multiple: true },
      'max-depth': { type: 'string' },
      stats: { type: 'boolean' },
    });
    const named = captureArgs(values, args);
    if (named.length === 0) throw new MirrorlensError(ErrorCode.Usage, "name at least one capture file (or '-' for stdin)");
    const count = numberOption('read', 'count', values.count as string | undefined, Infinity);
    const ports = (name: string): number[] | undefined => {
      const v = values[name] as string[] | undefined;
      if (!v) return undefined;
      return v.map((p) => {
        const n = Number(p);
        if (!Number.isInteger(n) || n < 0 || n > 65535) throw new MirrorlensError(ErrorCode.Usage, `--${name} wants a UDP port (0-65535), got '${p}'`);
        return n;
      });
    };
    const opts: PacketDecoderOptions = {
      validateChecksums: values.checksums === true,
      maxDepth: numberOption('read', 'max-depth', values['max-depth'] as string | undefined, 4),
      vxlanPorts: ports('vxlan-port'),
      genevePorts: ports('geneve-port'),
    };
    if (!Number.isInteger(opts.maxDepth)) throw new MirrorlensError(ErrorCode.Usage, '--max-depth wants a whole number');
    const filter = typeof values.filter === 'string' ? compileFilter(values.filter) : null;
    const positionals = await expandCaptureInputs(named);
    // Loaded only when asked for (capture classification and the rules parser).
    const mirrorFilter =
      typeof values['mirror-filter'] === 'string' ? (await import('../capture/mirror-filter.js')).mirrorFilterPredicate(values['mirror-filter']) : null;
    const printer = new Printer(io, {
      json: values.json === true,
      absolute: values['absolute-time'] === true,
      multiFile: positionals.length > 1,
    });
    const dec = new PacketDecoder(opts);
    const anomalies = new AnomalyLog();
    const statusCounts = [0, 0, 0, 0];
    let seen = 0;
    let shown = 0;
    let warnings = 0;
    const abort = new AbortController();
    let outputClosed = false;
    // A reader that goes away (`| head`) makes stdout emit EPIPE asynchronously, possibly after
    // run() returned: the listener stays attached so the error never becomes an uncaught one.
    const onOutError = (e: NodeJS.ErrnoException): void => {
      outputClosed = true;
      printer.closed = true;
      if (!abort.signal.aborted) abort.abort(new Error(`output closed (${e.code ?? e.message})`));
    };
    io.stdout.on('error', onOutError);
    const summaries: CaptureSummary[] = [];
    const contexts: PacketContext[] = [];
    let fileSeen = 0;
    let held: string[] = [];
    const flushHeld = (): void => {
      if (held.length === 0) return;
      printer.flush();
      for (const l of held) io.stderr.write(l);
      held = [];
    };
    {
      for (const file of positionals) {
        if (shown >= count || outputClosed) break;
        printer.startFile(file);
        contexts.length = 0;
        fileSeen = 0;
        flushHeld();
        try {
          const sum = await readCapture(
            await paced(file, io, printer),
            (rec: PacketRecord) => {
              if (shown >= count || outputClosed) return;
              if (fileSeen++ === 0) flushHeld();
              seen++;
              const st = dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
              statusCounts[st]!++;
              for (let i = 0; i < dec.anomalyCount; i++) anomalies.record(dec.anomalyId(i), rec.index);
              printer.noteTime(rec);
              if (mirrorFilter && !mirrorFilter(rec, dec)) return;
              if (filter && !filter(dec, contexts[rec.interfaceId])) return;
              shown++;
              printer.packet(rec, dec, filter);
              if (shown >= count) abort.abort(new Error('count reached'));
            },
            {
              name: file,
              signal: abort.signal,
              onInterface: (i) => {
                contexts[i.id] = interfaceContext(i);
              },
              onWarning: (w) => {
                warnings++;
                const line = `mirrorlens read: warning: ${w.file} (byte offset ${w.byteOffset}): ${w.message}\n`;
                // Until the file gives a packet its warnings wait: a file cut before its first
                // packet is one error at the end, not a warning and an error.
                if (fileSeen === 0) held.push(line);
                else {
                  printer.flush();
                  io.stderr.write(line);
                }
              },
            },
          );
          summaries.push(sum);
        } catch (e) {
          if (!abort.signal.aborted) throw e;
        }
      }
      printer.flush();
    }
    if (!outputClosed && shown < count) requirePackets(summaries);
    flushHeld();
    if (values.stats === true) {
      const parts = STATUS_NAMES.map((n, i) => `${n} ${statusCounts[i]}`).join(', ');
      io.stderr.write(`mirrorlens read: ${seen} packets decoded (${parts}), ${shown} shown, ${warnings} capture warnings\n`);
      for (const a of anomalies.summary()) io.stderr.write(`  ${a.code} (${a.severity}) x${a.count}, first in frame ${a.firstPacket}: ${a.description}\n`);
    }
    return 0;
  },
};

/**
 * The capture as a stream that waits for stdout to drain before handing the reader its next chunk:
 * `mirrorlens read huge.pcap | less` keeps memory bounded instead of queueing all the output.
 */
async function paced(file: string, io: CliIO, printer: Printer): Promise<NodeJS.ReadableStream> {
  const out = io.stdout as NodeJS.WritableStream & { writableNeedDrain?: boolean };
  const waitForDrain = async (): Promise<void> => {
    if (!printer.needsDrain || printer.closed) return;
    printer.needsDrain = false;
    // 'drain' may have fired already (the flag is ours, set at write time): ask the stream.
    if (out.writableNeedDrain !== true) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        out.off('drain', done);
        out.off('close', done);
        out.off('error', done);
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
      out.on('error', done);
    });
  };
  if (file === '-') {
    const stdin = process.stdin;
    return Readable.from(
      (async function* () {
        for await (const chunk of stdin) {
          await waitForDrain();
          yield chunk as Uint8Array;
        }
      })(),
      { highWaterMark: 2 },
    );
  }
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new MirrorlensError(ErrorCode.FileOpen, `cannot open capture: ${fileProblem(e)}`, { file }, { cause: e });
  }
  const handle = fh;
  return Readable.from(
    (async function* () {
      let offset = 0;
      try {
        for (;;) {
          await waitForDrain();
          const buf = Buffer.allocUnsafe(READ_CHUNK);
          let n: number;
          try {
            n = (await handle.read(buf, 0, buf.length, null)).bytesRead;
          } catch (e) {
            throw new MirrorlensError(ErrorCode.FileOpen, `cannot read capture: ${fileProblem(e)}`, { file, byteOffset: offset }, { cause: e });
          }
          if (n === 0) return;
          offset += n;
          yield buf.subarray(0, n);
        }
      } finally {
        await handle.close();
      }
    })(),
    { highWaterMark: 2 },
  );
}

interface PrinterOptions {
  json: boolean;
  absolute: boolean;
  multiFile: boolean;
}

const TCP_FLAG_NAMES: readonly [number, string][] = [
  [2, 'SYN'],
  [1, 'FIN'],
  [4, 'RST'],
  [8, 'PSH'],
  [16, 'ACK'],
  [32, 'URG'],
  [64, 'ECE'],
  [128, 'CWR'],
];

const OUT_CHUNK = 64 * 1024;

/** Buffers output and flushes in 64 KiB writes. */
class Printer {
  /** Set when stdout failed (EPIPE): output is dropped from then on. */
  closed = false;
  /** stdout's buffer is full: the input is paused until it drains. */
  needsDrain = false;
  /** Output is UTF-8-encoded straight into a 64 KiB chunk (no string joins), written when full. */
  private chunk = Buffer.allocUnsafe(OUT_CHUNK);
  private used = 0;
  private file = '';
  private firstSec = -1;
  private firstNsec = 0;

  constructor(
    private readonly io: CliIO,
    private readonly o: PrinterOptions,
  ) {}

  startFile(file: string): void {
    this.file = file;
    this.firstSec = -1;
    if (this.o.multiFile && !this.o.json) this.emit(`==> ${file} <==`);
  }

  noteTime(rec: PacketRecord): void {
    if (this.firstSec < 0) {
      this.firstSec = rec.tsSec;
      this.firstNsec = rec.tsNsec;
    }
  }

  private emit(line: string): void {
    // At most 3 UTF-8 bytes per UTF-16 unit, plus the newline.
    if (this.used + line.length * 3 + 1 > this.chunk.length) {
      this.flush();
      if (line.length * 3 + 1 > this.chunk.length) this.chunk = Buffer.allocUnsafe(line.length * 3 + 1);
    }
    this.used += this.chunk.write(line, this.used, 'utf8');
    this.chunk[this.used++] = 0x0a;
  }

  flush(): void {
    if (this.used === 0) return;
    const out = this.chunk.subarray(0, this.used);
    // The written chunk belongs to the stream now: continue in a fresh one.
    this.chunk = Buffer.allocUnsafe(OUT_CHUNK);
    this.used = 0;
    if (this.closed) return;
    if (!this.io.stdout.write(out)) this.needsDrain = true;
  }

  private relTime(rec: PacketRecord): string {
    let s = rec.tsSec - this.firstSec;
    let ns = rec.tsNsec - this.firstNsec;
    if (ns < 0) {
      ns += 1e9;
      s -= 1;
    }
    const neg = s < 0;
    if (neg) {
      // Out-of-order timestamps: print the negative difference.
      const total = -(s * 1e9 + ns);
      s = Math.floor(total / 1e9);
      ns = total - s * 1e9;
    }
    return `${neg ? '-' : ''}${s}.${String(Math.floor(ns / 1000)).padStart(6, '0')}`;
  }

  private absTime(rec: PacketRecord): string {
    const ms = rec.tsSec * 1000;
    // A hostile or corrupt timestamp outside what Date can show is printed as epoch seconds.
    const iso = isoMs(ms); // YYYY-MM-DDTHH:MM:SS.000Z
    if (iso === null) return `${rec.tsSec}.${String(rec.tsNsec).padStart(9, '0')}`;
    return `${iso.slice(0, 19)}.${String(rec.tsNsec).padStart(9, '0')}Z`;
  }

  packet(rec: PacketRecord, d: PacketDecoder, _f: PacketPredicate | null): void {
    if (this.o.json) this.emit(JSON.stringify(jsonRecord(rec, d, this.o.absolute ? this.absTime(rec) : this.relTime(rec), this.o.multiFile ? this.file : undefined)));
    else this.emit(textLine(rec, d, this.o.absolute ? this.absTime(rec) : this.relTime(rec)));
  }
}

function addr4or6(d: PacketDecoder, layerIndex: number, which: 'src' | 'dst'): string {
  const o = d.layerOffset[layerIndex]!;
  const b = d.data;
  if (d.layerType[layerIndex] === Layer.Ipv4) {
    const p = o + (which === 'src' ? 12 : 16);
    return ipv4ToString(((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0);
  }
  return ipv6ToString(b, o + (which === 'src' ? 8 : 24));
}

function hostPort(addr: string, port: number, v6: boolean): string {
  if (port < 0) return addr;
  return v6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function flagNames(flags: number): string {
  const out: string[] = [];
  for (const [bit, name] of TCP_FLAG_NAMES) if (flags & bit) out.push(name);
  return out.join(', ');
}

function tunnelText(d: PacketDecoder): string {
  if (d.tunnelDepth === 0) return '';
  const parts: string[] = [];
  let ipIdx = -1;
  for (let i = 0; i < d.layerCount; i++) {
    const t = d.layerType[i];
    if (t === Layer.Ipv4 || t === Layer.Ipv6) ipIdx = i;
    else if (t === Layer.Vxlan || t === Layer.Geneve) {
      const o = d.layerOffset[i]!;
      const vni = (d.data[o + 4]! << 16) | (d.data[o + 5]! << 8) | d.data[o + 6]!;
      let s = ipIdx >= 0 ? `${addr4or6(d, ipIdx, 'src')} → ${addr4or6(d, ipIdx, 'dst')} ` : '';
      s += `${t === Layer.Vxlan ? 'VXLAN' : 'GENEVE'} vni=${vni}`;
      if (t === Layer.Geneve && o === d.geneve.offset && d.geneve.hasGwlb) s += ` gwlbe=${d.geneve.gwlbEndpointIdHex()} cookie=${d.geneve.gwlbFlowCookieHex()}`;
      parts.push(s);
    }
  }
  return parts.join(' | ') + ' | ';
}

const ICMP4_NAMES: Record<number, string> = { 0: 'echo-reply', 3: 'destination-unreachable', 4: 'source-quench', 5: 'redirect', 8: 'echo-request', 11: 'time-exceeded', 12: 'parameter-problem', 13: 'timestamp', 14: 'timestamp-reply' };
const ICMP6_NAMES: Record<number, string> = { 1: 'destination-unreachable', 2: 'packet-too-big', 3: 'time-exceeded', 4: 'parameter-problem', 128: 'echo-request', 129: 'echo-reply', 133: 'router-solicitation', 134: 'router-advertisement', 135: 'neighbor-solicitation', 136: 'neighbor-advertisement', 143: 'mld2-report' };

function icmpText(d: PacketDecoder, size: string): string {
  const ic = d.icmp;
  const name = (ic.version === 4 ? ICMP4_NAMES : ICMP6_NAMES)[ic.type] ?? `type-${ic.type}`;
  let s = `${ic.version === 4 ? 'ICMP' : 'ICMPv6'}${size} ${name} code=${ic.code}`;
  if (ic.echoId >= 0) s += ` id=${ic.echoId} seq=${ic.echoSeq}`;
  if (ic.mtu >= 0) s += ` mtu=${ic.mtu}`;
  if (ic.embeddedIpVersion !== 0) {
    const v6 = ic.embeddedIpVersion === 6;
    const src = v6 ? ipv6ToString(d.data, ic.embeddedIp6.srcOffset) : ipv4ToString(ic.embeddedIp4.src);
    const dst = v6 ? ipv6ToString(d.data, ic.embeddedIp6.dstOffset) : ipv4ToString(ic.embeddedIp4.dst);
    const p = ic.embeddedProtocol;
    const proto = p === 6 ? ' TCP' : p === 17 ? ' UDP' : p === 1 ? ' ICMP' : p === 58 ? ' ICMPv6' : p >= 0 ? ` proto ${p}` : '';
    s += ` [${hostPort(src, ic.embeddedSrcPort, v6)} → ${hostPort(dst, ic.embeddedDstPort, v6)}${proto}]`;
  }
  return s;
}

function textLine(rec: PacketRecord, d: PacketDecoder, time: string): string {
  let s = `${String(rec.index).padStart(5)} ${time.padStart(11)} ${tunnelText(d)}`;
  const v6 = d.ipVersion === 6;
  const size = ` ${rec.originalLength}`;
  if (d.ipVersion !== 0) {
    const src = d.srcAddrString();
    const dst = d.dstAddrString();
    if (d.transport === 6 && d.tcpOk) {
      const t = d.tcp;
      s += `${hostPort(src, t.srcPort, v6)} → ${hostPort(dst, t.dstPort, v6)} TCP${size} [${flagNames(t.flags)}] seq=${t.seq}`;
      if (t.flags & 16) s += ` ack=${t.ack}`;
      s += ` win=${t.window} len=${d.payloadLength}`;
      if (t.mss >= 0) s += ` mss=${t.mss}`;
      if (t.windowScale >= 0) s += ` ws=${t.windowScale}`;
      if (t.sackPermitted) s += ' sack_perm';
      for (let i = 0; i < t.sackCount; i++) s += ` sack=${t.sackLeft(i)}-${t.sackRight(i)}`;
    } else if (d.transport === 17 && d.udpOk) {
      s += `${hostPort(src, d.udp.srcPort, v6)} → ${hostPort(dst, d.udp.dstPort, v6)} UDP${size} len=${d.payloadLength}`;
    } else if ((d.transport === 1 || d.transport === 58) && d.icmpOk) {
      s += `${src} → ${dst} ${icmpText(d, size)}`;
    } else {
      s += `${src} → ${dst} ${v6 ? 'IPv6' : 'IPv4'}${size} proto=${d.transport}`;
    }
    const frag = v6 ? d.ip6.isFragment : d.ip4.isFragment;
    if (frag) s += ` frag(off=${v6 ? d.ip6.fragmentOffset : d.ip4.fragmentOffset}${(v6 ? d.ip6.moreFragments : d.ip4.moreFragments) ? ' MF' : ''})`;
  } else {
    const names: string[] = [];
    for (let i = d.tunnelDepth > 0 ? lastTunnel(d) + 1 : 0; i < d.layerCount; i++) names.push(LAYER_NAMES[d.layerType[i]!]!);
    s += (names.join('/') || 'frame') + size;
    if (d.findLayer(Layer.Ethernet) >= 0 && d.status === Status.Unsupported) s += ` ethertype=0x${etherTypeHex(d)}`;
  }
  if (rec.capturedLength < rec.originalLength) s += ` caplen=${rec.capturedLength}`;
  // A protocol mirrorlens does not decode (ARP, LLDP, ...) is not a fault of the packet.
  if (d.status === Status.Unsupported) s += ` [${d.errorReason}]`;
  else if (d.status !== Status.Ok) s += ` !${STATUS_NAMES[d.status]}(${d.errorReason})`;
  if (d.badChecksumLayer !== 0) s += ` !bad-checksum(${LAYER_NAMES[d.badChecksumLayer]})`;
  return s;
}

function lastTunnel(d: PacketDecoder): number {
  let k = -1;
  for (let i = 0; i < d.layerCount; i++) if (d.layerType[i] === Layer.Vxlan || d.layerType[i] === Layer.Geneve) k = i;
  return k;
}

function etherTypeHex(d: PacketDecoder): string {
  // The EtherType that stopped decoding: the last Ethernet/VLAN/SLL header's type field.
  for (let i = d.layerCount - 1; i >= 0; i--) {
    const t = d.layerType[i];
    const o = d.layerOffset[i]!;
    if (t === Layer.Vlan) return ((d.data[o + 2]! << 8) | d.data[o + 3]!).toString(16).padStart(4, '0');
    if (t === Layer.Ethernet) return ((d.data[o + 12]! << 8) | d.data[o + 13]!).toString(16).padStart(4, '0');
  }
  return '????';
}

interface JsonPacket {
  file?: string;
  frame: number;
  time: string;
  len: number;
  caplen: number;
  status: string;
  error?: { layer: string; reason: string };
  layers: string[];
  vlan?: number[];
  tunnels?: { type: string; vni: number; src: string; dst: string; sport: number; dport: number }[];
  geneve?: { vni: number; protocolType: number; options: { class: number; type: number; length: number }[]; gwlb?: { endpointId: string; attachmentId: string; flowCookie: string } };
  ip?: { version: number; src: string; dst: string; protocol: number; ttl: number; fragment?: { offset: number; more: boolean; id: number } };
  tcp?: {
    sport: number;
    dport: number;
    flags: string;
    seq: number;
    ack: number;
    win: number;
    len: number;
    mss?: number;
    ws?: number;
    sackPermitted?: boolean;
    sack?: [number, number][];
    tsval?: number;
    tsecr?: number;
    rawOptions?: number[];
  };
  udp?: { sport: number; dport: number; len: number };
  icmp?: { version: number; type: number; code: number; mtu?: number; embedded?: { src: string; dst: string; protocol: number; sport?: number; dport?: number } };
  badChecksum?: string;
  anomalies?: string[];
}

function jsonRecord(rec: PacketRecord, d: PacketDecoder, time: string, file: string | undefined): JsonPacket {
  const out: JsonPacket = {
    ...(file !== undefined ? { file } : {}),
    frame: rec.index,
    time,
    len: rec.originalLength,
    caplen: rec.capturedLength,
    status: STATUS_NAMES[d.status]!,
    layers: [],
  };
  if (d.status !== Status.Ok) out.error = { layer: LAYER_NAMES[d.errorLayer]!, reason: d.errorReason };
  for (let i = 0; i < d.layerCount; i++) out.layers.push(LAYER_NAMES[d.layerType[i]!]!);
  if (d.vlanCount > 0) {
    out.vlan = [];
    for (let i = 0; i < d.vlanCount; i++) out.vlan.push(d.vlanId(i));
  }
  if (d.tunnelDepth > 0) {
    out.tunnels = [];
    let ipIdx = -1;
    let udpIdx = -1;
    for (let i = 0; i < d.layerCount; i++) {
      const t = d.layerType[i];
      if (t === Layer.Ipv4 || t === Layer.Ipv6) ipIdx = i;
      else if (t === Layer.Udp) udpIdx = i;
      else if ((t === Layer.Vxlan || t === Layer.Geneve) && ipIdx >= 0 && udpIdx >= 0) {
        const o = d.layerOffset[i]!;
        const u = d.layerOffset[udpIdx]!;
        out.tunnels.push({
          type: t === Layer.Vxlan ? 'vxlan' : 'geneve',
          vni: (d.data[o + 4]! << 16) | (d.data[o + 5]! << 8) | d.data[o + 6]!,
          src: addr4or6(d, ipIdx, 'src'),
          dst: addr4or6(d, ipIdx, 'dst'),
          sport: (d.data[u]! << 8) | d.data[u + 1]!,
          dport: (d.data[u + 2]! << 8) | d.data[u + 3]!,
        });
      }
    }
  }
  if (d.hasGeneve) {
    const g = d.geneve;
    const options: { class: number; type: number; length: number }[] = [];
    for (let i = 0; i < g.optionCount; i++) options.push({ class: g.optionClass(i), type: g.optionType(i), length: g.optionDataLength(i) });
    out.geneve = { vni: g.vni, protocolType: g.protocolType, options };
    if (g.hasGwlb) out.geneve.gwlb = { endpointId: g.gwlbEndpointIdHex(), attachmentId: g.gwlbAttachmentIdHex(), flowCookie: g.gwlbFlowCookieHex() };
  }
  if (d.ipVersion !== 0) {
    const v6 = d.ipVersion === 6;
    out.ip = { version: d.ipVersion, src: d.srcAddrString(), dst: d.dstAddrString(), protocol: d.transport, ttl: v6 ? d.ip6.hopLimit : d.ip4.ttl };
    if (v6 ? d.ip6.isFragment : d.ip4.isFragment) {
      out.ip.fragment = v6 ? { offset: d.ip6.fragmentOffset, more: d.ip6.moreFragments, id: d.ip6.fragmentId } : { offset: d.ip4.fragmentOffset, more: d.ip4.moreFragments, id: d.ip4.id };
    }
  }
  if (d.transport === 6 && d.tcpOk) {
    const t = d.tcp;
    out.tcp = { sport: t.srcPort, dport: t.dstPort, flags: TcpView.flagsToString(t.flags), seq: t.seq, ack: t.ack, win: t.window, len: d.payloadLength };
    if (t.mss >= 0) out.tcp.mss = t.mss;
    if (t.windowScale >= 0) out.tcp.ws = t.windowScale;
    if (t.sackPermitted) out.tcp.sackPermitted = true;
    if (t.sackCount > 0) {
      out.tcp.sack = [];
      for (let i = 0; i < t.sackCount; i++) out.tcp.sack.push([t.sackLeft(i), t.sackRight(i)]);
    }
    if (t.hasTimestamps) {
      out.tcp.tsval = t.tsVal;
      out.tcp.tsecr = t.tsEcr;
    }
    if (t.rawOptionCount > 0) {
      out.tcp.rawOptions = [];
      for (let i = 0; i < t.rawOptionCount; i++) out.tcp.rawOptions.push(t.rawOptionKind(i));
    }
  } else if (d.transport === 17 && d.udpOk) {
    out.udp = { sport: d.udp.srcPort, dport: d.udp.dstPort, len: d.payloadLength };
  } else if ((d.transport === 1 || d.transport === 58) && d.icmpOk) {
    const ic = d.icmp;
    out.icmp = { version: ic.version, type: ic.type, code: ic.code };
    if (ic.mtu >= 0) out.icmp.mtu = ic.mtu;
    if (ic.embeddedIpVersion !== 0) {
      const v6 = ic.embeddedIpVersion === 6;
      out.icmp.embedded = {
        src: v6 ? ipv6ToString(d.data, ic.embeddedIp6.srcOffset) : ipv4ToString(ic.embeddedIp4.src),
        dst: v6 ? ipv6ToString(d.data, ic.embeddedIp6.dstOffset) : ipv4ToString(ic.embeddedIp4.dst),
        protocol: ic.embeddedProtocol,
      };
      if (ic.embeddedSrcPort >= 0) {
        out.icmp.embedded.sport = ic.embeddedSrcPort;
        out.icmp.embedded.dport = ic.embeddedDstPort;
      }
    }
  }
  if (d.badChecksumLayer !== 0) out.badChecksum = LAYER_NAMES[d.badChecksumLayer]!;
  if (d.anomalyCount > 0) {
    out.anomalies = [];
    for (let i = 0; i < d.anomalyCount; i++) out.anomalies.push(ANOMALIES[d.anomalyId(i)]!.code);
  }
  return out;
}
