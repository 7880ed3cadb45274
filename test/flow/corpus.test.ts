// Differential tests against tshark on real captures (test/fixtures/flow, provenance in
// test/fixtures/README.md): connections vs `tshark -z conv,tcp` and tcp.stream, TCP events vs
// tshark's tcp.analysis.* flags frame by frame, and conn_state/history vs Zeek's baselines.
//
// Intended differences, each listed per capture below with the frames concerned:
// - Duplicates: a packet identical to one seen within 0.1 s (same IP ID, TCP checksum, seq, ack,
//   flags, length) is one packet seen twice (two mirror sessions, a duplicating path). We drop and
//   count it; tshark flags it (retransmission, dup ACK, out-of-order...). The duplicate frames are
//   computed here independently from tshark's own fields and must equal the ones we dropped.
// - Reordering: data arriving after a later segment fills a hole that we hold for 0.1 s; tshark
//   flags the later segment "previous segment not captured" at once. We only report a hole that
//   stays open (judge by sequence, not arrival).
// - Truncated packets (IP length > captured bytes): we count the cut bytes as a gap of that packet;
//   tshark takes the captured length as the segment length and flags the next segment as following
//   a lost one, and the ACKs that cover the cut bytes as acked-unseen.
// - The ack field of packets without the ACK flag is ignored (RFC 9293); Wireshark compares it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { processCaptures } from '../../src/flow/pipeline.js';
import type { ConnectionRecord, TcpEvent } from '../../src/flow/record.js';

const FIX = resolve(import.meta.dirname, '../fixtures/flow');
const tshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
const skip = tshark.status === 0 ? false : 'tshark is not installed';

/** tshark field → our event types that correspond to it. */
const FIELDS: Record<string, string[]> = {
  // tshark sets tcp.analysis.retransmission on fast and spurious retransmissions too.
  retransmission: ['retransmission', 'fast-retransmission', 'spurious-retransmission'],
  fast_retransmission: ['fast-retransmission'],
  spurious_retransmission: ['spurious-retransmission'],
  out_of_order: ['out-of-order'],
  duplicate_ack: ['duplicate-ack'],
  zero_window: ['zero-window'],
  zero_window_probe: ['zero-window-probe'],
  window_full: ['window-full'],
  window_update: ['window-update'],
  keep_alive: ['keep-alive'],
  keep_alive_ack: ['keep-alive-ack'],
  lost_segment: ['previous-segment-not-captured'],
  ack_lost_segment: ['acked-unseen-segment'],
  reused_ports: ['port-reuse'],
};

interface Diff {
  onlyTshark?: number[];
  onlyOurs?: number[];
}

interface Case {
  file: string;
  /** connState:history per connection in the order they end, where Zeek's baseline is known, else ours reviewed. */
  states: string[];
  diffs?: Record<string, Diff>;
  /** Frames that are duplicates (checked against the independent computation). */
  duplicates?: number;
}

const CASES: Case[] = [
  // Zeek baseline: RSTR, history ShADadFr.
  { file: 'zeek_http-to-ssh.pcap', states: ['RSTR:ShADadFr'] },
  // Zeek baseline: RSTO, history ShADadfR.
  { file: 'zeek_https-to-http.pcap', states: ['RSTO:ShADadfR'] },
  // Zeek baseline: REJ (two connections, history Sr, SYN retried) and SF.
  { file: 'zeek_pop3.pcap', states: ['REJ:Sr', 'REJ:Sr', 'SF:ShAdDafF', 'SF:ShAdDafF', 'SF:ShAdDafF', 'SF:ShAdDafF', 'SF:ShAdDafF'] },
  // Zeek baseline: RSTOS0, history SR.
  { file: 'zeek_syn-then-rst.pcap', states: ['RSTOS0:SR'] },
  // Zeek baseline: RSTOS0, history SaR. Frame 2 (ACK without a SYN-ACK before it): tshark calls it
  // a window update because it compares with the SYN's ack field, which has no meaning without ACK.
  { file: 'zeek_syn-then-ack-then-rst.pcap', states: ['RSTOS0:SaR'], diffs: { window_update: { onlyTshark: [2] } } },
  // Zeek baseline: OTH, history SaFR. Frame 2: as above.
  { file: 'zeek_syn-then-stuff-then-rst.pcap', states: ['OTH:SaFR'], diffs: { window_update: { onlyTshark: [2] } } },
  // Zeek baseline: OTH, history R.
  { file: 'zeek_single-rst.pcap', states: ['OTH:R'] },
  // Zeek baseline: RSTO, history ShADaGdgtR. Every server data packet is cut at 54 bytes (snaplen),
  // so our gaps (G/g) come from truncation, at the first cut packet; Zeek notes its gaps later.
  { file: 'zeek_retransmit-fast009.pcap', states: ['RSTO:ShADGadggtR'] },
  // Frames 7 and 85 are cut by 8 and 20 bytes (IP length 1500, captured 1492 / 1480): we count
  // the missing bytes as gaps of those packets; tshark flags 9 and 87 as following a lost segment and
  // the ACKs 8, 10, 86, 88 as acking unseen data. Frames 8, 10, 12 (FIN retransmissions): tshark
  // calls them fast retransmissions though no duplicate ACK preceded them; for us they are plain
  // retransmissions (both sets still agree on tcp.analysis.retransmission). Frame 105 acknowledges
  // 1448 client bytes (29958..31406) the capture never delivered: we flag it; tshark flags 107.
  {
    file: 'zeek_reassembly.pcap',
    states: ['SF:ShADafGTTF'],
    diffs: {
      fast_retransmission: { onlyTshark: [8, 10, 12] },
      lost_segment: { onlyTshark: [9, 87] },
      ack_lost_segment: { onlyTshark: [8, 10, 86, 88, 107], onlyOurs: [105] },
    },
  },
  { file: 'arkime_websocket.pcap', states: ['S1:ShADad'] },
  { file: 'zeek_docker-http-upgrade.pcap', states: ['SF:ShADadfF', 'SF:ShADadFf', 'SF:ShADadFf'] },
  // Frames 13 and 37 arrive 1 ms before the segment that fills the hole (reordering): we hold them
  // and report only the out-of-order fill (14, 38), as tshark does; tshark also flags 13 and 37 as
  // following a lost segment. Frame 20 is a duplicate of 19 (same IP ID and checksum, 1 ms later).
  { file: 'arkime_tcpseq_synthetic.pcap', states: ['S0:SDWG', 'S1:ShADa', 'S1:ShADa', 'S1:ShADa', 'S1:ShADa', 'S1:ShADa'], diffs: { lost_segment: { onlyTshark: [13, 37] } }, duplicates: 1 },
  // Every retransmission, dup ACK and the out-of-order SYN in this trace is a byte-identical copy of
  // a packet seen less than 0.1 s earlier (same IP ID, checksum, TSval): duplicates, not
  // retransmissions. 81 of the 108 frames are such copies; the remaining analysis flags must match.
  { file: 'arkime_wireshark-retrans.pcap', states: ['SF:ShADadFf'], duplicates: 81 },
  // VXLAN (VNI 11) carrying one HTTP connection.
  { file: 'suricata-verify_vxlan-non-zero-reserved-fields_input.pcap', states: ['SF:ShADadfF'] },
  // Frame 41 carries the first 16 response bytes and was captured BEFORE frame 40 (its timestamp is
  // 10 ms earlier; the file has them in the other order): reordering. tshark, judging by arrival,
  // calls 40 "previous segment not captured" and 41 a retransmission; for us 41 fills the hole:
  // out-of-order, and no hole was ever declared. Frame 18 is frame 17 again 5 ms later, byte for
  // byte (this generator gives every packet IP ID 1): a duplicate for us.
  {
    file: 'arkime_tcp-reassembly-synthetic.pcap',
    duplicates: 1,
    states: ['SF:ShADadFf', 'SF:ShADadFf', 'SF:ShADadtFf', 'SF:ShADadFf', 'SF:ShADadgFf', 'SF:ShADadtFf', 'SF:ShADadtFf', 'SF:ShADdFf', 'SF:^hADdFfS', 'S1:ShAD', 'S2:ShADFg'],
    diffs: { retransmission: { onlyTshark: [41] }, out_of_order: { onlyOurs: [41] }, lost_segment: { onlyTshark: [40] } },
  },
  // Handshake oddities. Frame 50: the ACK of a SYN-ACK whose ISN is 2^32-1 (ack 0); tshark calls it
  // a duplicate ACK, comparing with the ack field (0) of the SYN, which had no ACK flag. Frames 20
  // and 24 jump ahead in sequence space without data (a SYN-ACK from the client with a new ISN, an
  // ACK with seq 555555): we look for holes in the data only; tshark flags any segment ahead. Frame
  // 20 (that client SYN-ACK) starts a new conversation for tshark; a SYN-ACK never starts one for us.
  // Frame 47 is a byte-identical copy of SYN 46: a duplicate.
  {
    file: 'arkime_tcp_handshake_synthetic.pcap',
    duplicates: 1,
    states: ['S1:Sh', 'S0:S', 'RSTO:ShAR', 'S1:ShA', 'S1:ShA', 'OTH:Sah', 'S1:ShHA', 'S1:ShA', 'OTH:^hA', 'S2:ShdAF', 'S1:ShDa', 'S1:ShA', 'S1:ShA', 'OTH:^hSA', 'S0:S', 'S1:ShA'],
    diffs: { duplicate_ack: { onlyTshark: [50] }, lost_segment: { onlyTshark: [20, 24] }, reused_ports: { onlyTshark: [20] } },
  },
  // Zeek baseline: SF with missed_bytes 2902 (the server's data before its FIN was not captured).
  { file: 'zeek_miss_end_data.pcap', states: ['SF:ShADafFg'] },
];

/** One tshark pass per capture: per-frame fields (with -E separator=|), then the -z conv,tcp table. */
async function tsharkPass(file: string): Promise<{ rows: string[][]; conv: string[] }> {
  const fields = [
    'frame.number', 'frame.time_epoch', 'tcp.stream', 'communityid',
    // key of a byte-identical repeat
    'ip.src', 'ipv6.src', 'ip.id', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.window_size_value', 'tcp.len', 'tcp.checksum',
    ...Object.keys(FIELDS).map((f) => `tcp.analysis.${f}`),
    'tcp.flags.reset',
  ];
  const args = ['-r', file, '-n', '--enable-protocol', 'communityid', '-z', 'conv,tcp', '-Y', 'tcp', '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])];
  const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  assert.equal(code, 0, err);
  const cut = out.indexOf('\n====');
  const rows = out.slice(0, cut).split('\n').filter(Boolean).map((l) => l.split('|'));
  const conv = out
    .slice(cut)
    .split('\n')
    .filter((l) => l.includes('<->'))
    .map((l) => {
      const [a, , b] = l.trim().split(/\s+/);
      return [a, b].sort().join(' ');
    });
  return { rows, conv };
}

const KEY_FROM = 4;
const KEY_TO = 15;
const FLAGS_FROM = 15;

/** Frames identical to one seen within 0.1 s before (from tshark's fields, independently of our code). */
function duplicateFrames(rows: string[][]): Set<number> {
  const last = new Map<string, number>();
  const dups = new Set<number>();
  for (const r of rows) {
    const key = r.slice(KEY_FROM, KEY_TO).join('|');
    const t = Number(r[1]);
    const prev = last.get(key);
    if (prev !== undefined && t - prev <= 0.1) dups.add(Number(r[0]));
    else last.set(key, t);
  }
  return dups;
}

describe('corpus captures against tshark', { skip, concurrency: 4 }, () => {
  for (const c of CASES) {
    test(`${c.file}: connections, states, Community IDs and TCP events agree with tshark (and Zeek)`, async () => {
      const file = resolve(FIX, c.file);
      const recs: ConnectionRecord[] = [];
      const evs: TcpEvent[] = [];
      await processCaptures([file], { onConnectionEnd: (r) => recs.push(r), onEvent: (e) => evs.push(e) }, { reportDuplicates: true });
      const { rows, conv } = await tsharkPass(file);

      // Connections: tshark's tcp.stream count, and the endpoint pairs of -z conv,tcp.
      const streams = new Set(rows.map((r) => r[2]));
      assert.equal(recs.length, streams.size, 'connections = tshark tcp.stream values');
      const ours = recs.map((r) => [`${r.clientAddr}:${r.clientPort}`, `${r.serverAddr}:${r.serverPort}`].sort().join(' '));
      assert.deepEqual([...new Set(ours)].sort(), [...new Set(conv)].sort(), 'endpoint pairs = tshark -z conv,tcp');
      assert.deepEqual([...new Set(recs.map((r) => r.communityId))].sort(), [...new Set(rows.map((r) => r[3]))].sort(), 'Community ID v1 = tshark communityid');

      assert.deepEqual(recs.map((r) => `${r.connState}:${r.history}`), c.states);

      // Duplicates: exactly the byte-identical repeats.
      const dups = duplicateFrames(rows);
      const ourDups = new Set(evs.filter((e) => e.type === 'duplicate').map((e) => e.packet));
      assert.deepEqual([...ourDups].sort((a, b) => a - b), [...dups].sort((a, b) => a - b), 'duplicates');
      assert.equal(dups.size, c.duplicates ?? 0);

      // Events, frame by frame (frames we dropped as duplicates excluded from tshark's side).
      const names = Object.keys(FIELDS);
      const theirs: Record<string, Set<number>> = {};
      for (const r of rows) {
        const n = Number(r[0]);
        if (dups.has(n)) continue;
        names.forEach((f, i) => {
          if (r[FLAGS_FROM + i]) (theirs[f] ??= new Set()).add(n);
        });
      }
      // Every RST frame (not a duplicate) is one reset event, on that frame.
      const rstFrames = rows.filter((r) => r[FLAGS_FROM + names.length] === '1' && !dups.has(Number(r[0]))).map((r) => Number(r[0]));
      assert.deepEqual(evs.filter((e) => e.type === 'reset').map((e) => e.packet).sort((a, b) => a - b), rstFrames.sort((a, b) => a - b), 'reset events = RST frames');
      for (const f of names) {
        const t = theirs[f] ?? new Set<number>();
        const o = new Set(evs.filter((e) => FIELDS[f]!.includes(e.type)).map((e) => e.packet));
        const onlyT = [...t].filter((x) => !o.has(x)).sort((a, b) => a - b);
        const onlyO = [...o].filter((x) => !t.has(x)).sort((a, b) => a - b);
        assert.deepEqual({ onlyTshark: onlyT, onlyOurs: onlyO }, { onlyTshark: c.diffs?.[f]?.onlyTshark ?? [], onlyOurs: c.diffs?.[f]?.onlyOurs ?? [] }, `tcp.analysis.${f}`);
      }
    });
  }
});

test('zeek_miss_end_data.pcap: the 2902 bytes Zeek reports missing are a gap before the server FIN', async () => {
  const recs: ConnectionRecord[] = [];
  await processCaptures([resolve(FIX, 'zeek_miss_end_data.pcap')], { onConnectionEnd: (r) => recs.push(r) });
  assert.equal(recs[0]!.gapBytesFromServer, 2902);
  assert.equal(recs[0]!.gapBytesFromClient, 0);
});

test('suricata-verify VXLAN capture: the capture point is the mirror session VNI', async () => {
  const recs: ConnectionRecord[] = [];
  await processCaptures([resolve(FIX, 'suricata-verify_vxlan-non-zero-reserved-fields_input.pcap')], { onConnectionEnd: (r) => recs.push(r) });
  assert.deepEqual(recs.map((r) => r.capturePoints), [['vni:11']]);
});
