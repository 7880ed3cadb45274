/**
 * Generates a mirror-target capture for the read benchmark: `packets` VXLAN-encapsulated TCP
 * packets (outer Ethernet/IPv4/UDP 4789/VXLAN VNI 4242, inner Ethernet/IPv4/TCP with the
 * timestamps option), 1000 client connections to one server, 40 % bare ACKs and 60 % data
 * segments of 200-1400 bytes, written with PcapngWriter (ns timestamps, 20 µs apart).
 */
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';

const OUTER = 14 + 20 + 8 + 8;
const INNER_HDR = 14 + 20 + 32;

export function generate(path: string, packets: number): { bytes: number; seconds: number } {
  const t0 = process.hrtime.bigint();
  const w = new PcapngWriter({ path }, { shb: { userAppl: 'mirrorlens bench/read generator' } });
  const itf = w.addInterface({ linkType: 1, name: 'vxlan-vni-4242', description: 'bench: VXLAN mirror of eni-0bench' });
  const buf = new Uint8Array(OUTER + INNER_HDR + 1400);
  const dv = new DataView(buf.buffer);
  // outer Ethernet: mirror source ENI → target, IPv4
  buf.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00], 0);
  // outer IPv4 10.0.0.5 → 10.0.0.9, UDP
  buf.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 5, 10, 0, 0, 9], 14);
  // outer UDP dst 4789
  dv.setUint16(36, 4789);
  // VXLAN: flags I, VNI 4242
  buf[42] = 0x08;
  dv.setUint32(46, 4242 << 8);
  // inner Ethernet + IPv4 172.31.0.x → 172.31.1.10 TCP
  const e = OUTER;
  buf.set([0x02, 0, 0, 0, 0, 0x0a, 0x02, 0, 0, 0, 0, 0x0b, 0x08, 0x00], e);
  buf.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 172, 31, 0, 0, 172, 31, 1, 10], e + 14);
  const t = e + 34;
  dv.setUint16(t + 2, 443);
  buf[t + 12] = 8 << 4; // data offset 32
  buf.set([1, 1, 8, 10], t + 20); // NOP NOP timestamps
  const seq = new Uint32Array(1000);
  let sec = 1_700_000_000;
  let nsec = 0;
  let rnd = 12345;
  for (let i = 0; i < packets; i++) {
    rnd = (rnd * 1103515245 + 12345) >>> 0;
    const conn = i % 1000;
    const payload = rnd % 10 < 4 ? 0 : 200 + ((rnd >>> 8) % 1201);
    const innerLen = 20 + 32 + payload;
    const total = OUTER + 14 + innerLen;
    dv.setUint16(16, total - 14); // outer IP total length
    dv.setUint16(18, i & 0xffff);
    dv.setUint16(34 + 0, 0xc000 | conn); // outer UDP source port (flow hash)
    dv.setUint16(38, total - 34); // outer UDP length
    dv.setUint16(e + 16, innerLen);
    buf[e + 14 + 15] = conn & 0xff;
    buf[e + 14 + 14] = conn >> 8;
    dv.setUint16(t, 30000 + conn);
    dv.setUint32(t + 4, seq[conn]!);
    seq[conn] = (seq[conn]! + payload) >>> 0;
    dv.setUint32(t + 8, 1);
    buf[t + 13] = payload === 0 ? 0x10 : 0x18; // ACK / PSH+ACK
    dv.setUint16(t + 14, 502);
    dv.setUint32(t + 24, i);
    w.writePacket(itf, sec, nsec, buf, 0, total);
    nsec += 20_000;
    if (nsec >= 1e9) {
      nsec -= 1e9;
      sec++;
    }
  }
  w.close();
  return { bytes: w.bytesWritten, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}
