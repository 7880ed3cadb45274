/**
 * One measured pass in its own process (so its peak RSS is its own):
 *   node --import tsx bench/read/one.ts decode|read FILE
 * decode = readCapture + PacketDecoder.decode per packet; read = readCapture only.
 * Prints one JSON line: packets, bytes, seconds and cpuSeconds (reading only, after start-up), decode counters,
 * maxRssBytes, maxBuffered (the parser's remainder high-water mark).
 */
import { readCapture } from '../../src/capture/reader.js';
import type { CaptureParser } from '../../src/capture/parser.js';
import { PacketDecoder } from '../../src/wire/packet.js';

const [mode, file] = process.argv.slice(2);
if ((mode !== 'decode' && mode !== 'read') || file === undefined) {
  process.stderr.write('usage: one.ts decode|read FILE\n');
  process.exit(2);
}
const dec = new PacketDecoder();
let ok = 0;
let tcp = 0;
let vxlan = 0;
let parser: CaptureParser | null = null;
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const s = await readCapture(
  file,
  mode === 'decode'
    ? (r) => {
        if (dec.decode(r.linkType, r.data, r.offset, r.capturedLength) === 0) ok++;
        if (dec.tcpOk) tcp++;
        if (dec.vni >= 0) vxlan++;
      }
    : () => undefined,
  { onParser: (p) => (parser = p) },
);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(c0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const maxBuffered = (parser as CaptureParser | null)?.maxBuffered ?? 0;
process.stdout.write(
  JSON.stringify({ packets: s.packets, bytes: s.bytes, seconds, cpuSeconds, ok, tcp, vxlan, warnings: s.warnings, maxRssBytes: process.resourceUsage().maxRSS * 1024, maxBuffered }) + '\n',
);
