// An ICMP destination unreachable quoting a TCP SYN is handed to the flow handler with the quoted
// connection's endpoints and who sent it (the analysis joins it to the failed attempt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../src/flow/table.js';
import type { IcmpErrorEvent } from '../../src/flow/options.js';
import { PacketDecoder } from '../../src/wire/packet.js';
import { PacketRecord } from '../../src/capture/record.js';
import { tcpFrame } from './packets.js';

/** Ethernet + IPv4 (from `from` to the SYN's source) + ICMP type/code + the SYN's IP header and first 8 TCP bytes. */
function icmpUnreachable(from: string, syn: Uint8Array, code: number): Uint8Array {
  const quoted = syn.subarray(14, 14 + 28);
  const frame = new Uint8Array(14 + 20 + 8 + quoted.length);
  const dv = new DataView(frame.buffer);
  frame.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2], 0);
  dv.setUint16(12, 0x0800);
  frame[14] = 0x45;
  dv.setUint16(16, 20 + 8 + quoted.length);
  frame[22] = 64;
  frame[23] = 1; // ICMP
  const a = from.split('.').map(Number);
  frame.set(a, 26);
  frame.set(syn.subarray(26, 30), 30); // to the SYN's source
  frame[34] = 3; // destination unreachable
  frame[35] = code;
  frame.set(quoted, 42);
  return frame;
}

test('an ICMP host unreachable quoting a SYN reaches onIcmpError with the SYN\'s endpoints and its sender', () => {
  const got: IcmpErrorEvent[] = [];
  const table = new FlowTable({ onIcmpError: (e) => got.push(e) });
  const dec = new PacketDecoder();
  const rec = new PacketRecord();
  const syn = tcpFrame({ src: '10.0.1.10', dst: '10.0.1.20', sport: 43142, dport: 80, seq: 1000, ack: 0, flags: 'S' });
  const icmp = icmpUnreachable('10.0.1.1', syn, 1);
  let i = 0;
  for (const [t, f] of [[100, syn], [100.0002, icmp]] as const) {
    rec.index = ++i;
    rec.time = t;
    rec.linkType = 1;
    rec.data = f;
    rec.offset = 0;
    rec.capturedLength = f.length;
    rec.originalLength = f.length;
    dec.decode(1, f, 0, f.length);
    table.ingest(rec, dec, 'vni-2');
  }
  assert.deepEqual(got, [{ time: 100.0002, capturePoint: 'vni-2', from: '10.0.1.1', type: 3, code: 1, srcAddr: '10.0.1.10', srcPort: 43142, dstAddr: '10.0.1.20', dstPort: 80 }]);
  assert.equal(table.stats.nonTcpPackets, 1);
});
