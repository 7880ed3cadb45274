/**
 * Records shaped like the lab's load scenario, for the store benchmarks.
 */
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import type { Row } from '../../src/store/schema.js';
/** A transaction row as the load scenario makes them (HTTP/1.1 over TLS, 30 requests a connection). */
export function txRowGen(i: number, t: number, copy: number): Row {
  const conn = Math.floor(i / 30);
  const bad = i % 100 === 57;
  return {
    ts: t, node: copy % 2 ? 'listener-a' : 'listener-b', uid: `C${copy}x${conn}-${(i % 30) + 1}`, conn_uid: `C${copy}x${conn}`, capture_point: 'alb-target-side',
    orig_h: '10.0.1.10', orig_p: 30000 + (conn % 30000), resp_h: '10.0.2.30', resp_p: 8080, http_version: '1.1', stream_id: null, method: 'GET', host: 'api.example.com',
    path: `/api/items/${i % 977}`, status: bad ? null : 200, trace_id: `Root=1-${(Math.floor(t)).toString(16)}-${(i * 2654435761 >>> 0).toString(16).padStart(24, '0')}`, user_agent: 'load-client/1.0',
    req_first_ts: t, req_last_ts: t + 0.0001, resp_first_ts: bad ? null : t + 0.002, resp_last_ts: bad ? null : t + 0.0025, duration: bad ? null : 0.0025, request_index: (i % 30) + 1,
    idle_before: bad ? 400.2 : 0.05, outcome: bad ? 'no-response' : 'complete', ended_by: bad ? 'rst' : null, ended_by_dir: bad ? 'server' : null, error_code: null, malformed_reason: null,
    request_body_bytes: 0, response_body_bytes: 1400, resp_head_bytes: 180, resp_content_length: 1400, goaway_ts: null, goaway_last_stream: null,
  };
}

export function connRowGen(c: number, t: number, copy: number, bad: boolean): Row {
  return {
    ts: t, node: copy % 2 ? 'listener-a' : 'listener-b', uid: `C${copy}x${c}`, community_id: '1:abcdefabcdefabcdefabcdefabc=', capture_point: 'alb-target-side', capture_points: ['alb-target-side'], proto: 'tcp',
    orig_h: '10.0.1.10', orig_p: 30000 + (c % 30000), resp_h: '10.0.2.30', resp_p: 8080, end_ts: t + 30, duration: 30, conn_state: bad ? 'RSTR' : 'SF', history: bad ? 'ShADadR' : 'ShADadFf',
    orig_pkts: 64, resp_pkts: 62, orig_ip_bytes: 9000, resp_ip_bytes: 50000, orig_bytes: 6000, resp_bytes: 45000, orig_payload_bytes: 6000, resp_payload_bytes: 45000, missed_bytes: 0,
    rtt: 0.0004, syn_ts: [t], synack_ts: t + 0.0002, refused: false, midstream: false, closed_by: bad ? 'server' : 'client', close_how: bad ? 'rst' : 'fin', end_cause: 'closed', max_idle: bad ? 400.2 : 0.2,
    idle_gap_start: bad ? [t + 1] : [], idle_gap_end: bad ? [t + 401.2] : [], resp_fin_ts: [], resp_rst_ts: bad ? [t + 30] : [], requests: 30, tls_alert: null, tls_alert_from: null,
    isn_orig: 1000 + c, isn_resp: 2000 + c, orig_first_seq: null, orig_first_ack: null, orig_first_len: null, orig_first_fp: null, orig_first_ts: null,
    resp_first_seq: null, resp_first_ack: null, resp_first_len: null, resp_first_fp: null, resp_first_ts: null, previous_uid: null,
    file: '/var/capture/mirrorlens-20261205T000000.000Z.pcapng', file_offset: 123456, last_file: '/var/capture/mirrorlens-20261205T000000.000Z.pcapng', last_file_offset: 234567,
  };
}

export function findingRowGen(i: number, t: number, copy: number): Row {
  return {
    ts: t, node: copy % 2 ? 'listener-a' : 'listener-b', id: `f${copy}-${i}`, kind: 'idle-timeout-reset', severity: 'error', confidence: 'high', status: 502, method: 'GET', path: `/api/items/${i % 977}`,
    client: '198.51.100.10:51312', target_conn_uid: `C${copy}x${Math.floor(i / 30)}`, reset_by: '10.0.2.30:8080', idle: 400.2, summary: 'The request was sent on a pooled connection idle for 400.2 s and was answered at once by a TCP RST.',
    conn_uids: [`C${copy}x${Math.floor(i / 30)}`], report: '{}',
  };
}


/**
 * A pcapng of `n` distinct plain-HTTP/1.1 connections (Ethernet/IPv4/TCP; handshake, one request,
 * one 200 response, FIN both ways: 9 packets each), client ports and addresses varied, 1 ms apart:
 * traffic that makes records when replayed to `listen --store`.
 */
export function writeHttpCapture(path: string, n: number): number {
  const w = new PcapngWriter({ path });
  const ifId = w.addInterface({ linkType: 1, name: 'bench' });
  const req = Buffer.from('GET /api/items/1 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench\r\n\r\n');
  const res = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok');
  const frame = Buffer.alloc(14 + 20 + 20 + 200);
  let packets = 0;
  const t0 = 1_795_000_000;
  const send = (t: number, src: number, dst: number, sport: number, dport: number, seq: number, ack: number, flags: number, payload: Buffer | null) => {
    const len = payload ? payload.length : 0;
    frame.fill(0, 0, 54);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45;
    frame.writeUInt16BE(40 + len, 16);
    frame[22] = 64;
    frame[23] = 6;
    frame.writeUInt32BE(src >>> 0, 26);
    frame.writeUInt32BE(dst >>> 0, 30);
    frame.writeUInt16BE(sport, 34);
    frame.writeUInt16BE(dport, 36);
    frame.writeUInt32BE(seq >>> 0, 38);
    frame.writeUInt32BE(ack >>> 0, 42);
    frame[46] = 0x50;
    frame[47] = flags;
    frame.writeUInt16BE(65535, 48);
    if (payload) payload.copy(frame, 54);
    const sec = Math.floor(t);
    w.writePacket(ifId, sec, Math.round((t - sec) * 1e9), frame, 0, 54 + len);
    packets++;
  };
  const SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01;
  for (let i = 0; i < n; i++) {
    const t = t0 + i * 0.001;
    const c = (198 << 24) | (51 << 16) | (100 << 8) | (1 + (i % 250));
    const s = (10 << 24) | (0 << 16) | (2 << 8) | 30;
    const cp = 10000 + (i % 50000);
    const cs = 1000 + i * 7, ss = 5000 + i * 11;
    send(t, c, s, cp, 80, cs, 0, SYN, null);
    send(t + 0.0001, s, c, 80, cp, ss, cs + 1, SYN | ACK, null);
    send(t + 0.0002, c, s, cp, 80, cs + 1, ss + 1, ACK, null);
    send(t + 0.0003, c, s, cp, 80, cs + 1, ss + 1, PSH | ACK, req);
    send(t + 0.0005, s, c, 80, cp, ss + 1, cs + 1 + req.length, PSH | ACK, res);
    send(t + 0.0006, c, s, cp, 80, cs + 1 + req.length, ss + 1 + res.length, FIN | ACK, null);
    send(t + 0.0007, s, c, 80, cp, ss + 1 + res.length, cs + 2 + req.length, FIN | ACK, null);
    send(t + 0.0008, c, s, cp, 80, cs + 2 + req.length, ss + 2 + res.length, ACK, null);
  }
  w.close();
  return packets;
}
