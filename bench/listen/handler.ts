/**
 * mirrorlens' own per-datagram work, without Node's socket path: the same 200-byte VXLAN datagram
 * fed to MirrorListener.onVxlan in a loop (header checks, capture point, classification,
 * direction, EPB into the writer buffer, writes to the page cache). CPU time per packet from
 * process.cpuUsage; 3 rounds of 300 000 packets, the last two after warm-up.
 *
 *   node --import tsx bench/listen/handler.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RemoteInfo } from 'node:dgram';
import { MirrorListener } from '../../src/capture/listener.js';

const dir = mkdtempSync(join(tmpdir(), 'ml-bench-handler-'));
const l = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: 0, genevePort: 47000 + (process.pid % 1000), statusIntervalMs: 0, rotateBytes: 100e6, ringFiles: 2 });
try {
  await l.start();
  const b = Buffer.alloc(200);
  b[0] = 8; // VXLAN I flag
  b[6] = 42; // VNI 42
  // inner Ethernet 02:..:01 → 02:..:02, IPv4 10.0.0.1 → 10.0.0.2 UDP, total length 178
  Buffer.from('020000000002020000000001080045000000000040004011000' + '00a0000010a000002', 'hex').copy(b, 8);
  b.writeUInt16BE(178, 18);
  const rinfo: RemoteInfo = { address: '127.0.0.1', family: 'IPv4', port: 5555, size: 200 };
  for (let round = 1; round <= 3; round++) {
    const n = 300_000;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) l.onVxlan(b, rinfo);
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    console.log(`round ${round}: ${(((c.user + c.system) * 1e3) / n).toFixed(0)} ns CPU per packet (${((wall * 1e6) / n).toFixed(0)} ns wall), ${l.metrics.packets} written`);
  }
} finally {
  await l.stop();
  rmSync(dir, { recursive: true, force: true });
}
