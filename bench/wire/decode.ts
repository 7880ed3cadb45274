/**
 * PacketDecoder alone, without file reading: every packet of a capture is copied into memory
 * first, then decoded N times; prints packets/s, MB/s and the heap growth per decode (with
 * --expose-gc, to show that decode() allocates nothing per packet).
 *   node --expose-gc --import tsx bench/wire/decode.ts CAPTURE [ROUNDS]
 * Generate a capture with bench/read (VXLAN-encapsulated TCP) or use any pcap/pcapng.
 */
import { readCapture } from '../../src/capture/reader.js';
import { PacketDecoder } from '../../src/wire/packet.js';

const [file, roundsText] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: decode.ts CAPTURE [ROUNDS]\n');
  process.exit(2);
}
const rounds = Number(roundsText ?? 5);
const chunks: Uint8Array[] = [];
const linkTypes: number[] = [];
let bytes = 0;
const LIMIT = 400_000;
await readCapture(file, (rec) => {
  if (chunks.length >= LIMIT) return;
  chunks.push(rec.data.slice(rec.offset, rec.offset + rec.capturedLength));
  linkTypes.push(rec.linkType);
  bytes += rec.capturedLength;
});
const dec = new PacketDecoder();
const gc = (globalThis as { gc?: () => void }).gc;
/** One decode of every packet (a function, so the JIT optimises the loop). */
function pass(d: PacketDecoder, packets: Uint8Array[], lts: number[]): number {
  let n = 0;
  for (let i = 0; i < packets.length; i++) {
    const c = packets[i]!;
    d.decode(lts[i]!, c, 0, c.length);
    if (d.tcpOk) n++;
  }
  return n;
}
let tcp = 0;
pass(dec, chunks, linkTypes); // warm-up (JIT), not measured
gc?.();
const heap0 = process.memoryUsage().heapUsed;
const t0 = process.hrtime.bigint();
for (let r = 0; r < rounds; r++) tcp += pass(dec, chunks, linkTypes);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const heap1 = process.memoryUsage().heapUsed;
const n = chunks.length * rounds;
console.log(
  JSON.stringify({
    file,
    packets: chunks.length,
    rounds,
    decodes: n,
    innerTcp: tcp / rounds,
    seconds: Number(seconds.toFixed(3)),
    packetsPerSecond: Math.round(n / seconds),
    megabytesPerSecond: Number(((bytes * rounds) / seconds / 1e6).toFixed(1)),
    nanosecondsPerPacket: Math.round((seconds * 1e9) / n),
    heapGrowthBytesPerDecode: gc ? Number(((heap1 - heap0) / n).toFixed(4)) : null,
  }),
);
