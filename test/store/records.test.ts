/**
 * What the session knows about a connection beyond its flow record (a TLS handshake failure, an
 * ICMP error quoting it) is recorded with it and given back to the session on replay.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AnalysisSession } from '../../src/analyze/session.js';
import { Correlator } from '../../src/correlate/correlate.js';
import { openReader } from '../../src/store/open.js';
import { ParquetSink } from '../../src/store/parquet.js';
import { Recorder } from '../../src/store/recorder.js';
import { connectionRecordOf, icmpErrorOf } from '../../src/store/records.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { sampleRow } from './rows.js';

const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-records-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('an ICMP error quoting a SYN is stored with its connection and replayed into the session', async () => {
  const rec = new Recorder(new ParquetSink(tmp, { node: 'n' }), 'n');
  const session = new AnalysisSession(new KeyLog(), new Correlator(), { recorder: rec });
  const h = session.handler();
  // A SYN never answered but by "host unreachable" from the hop in between.
  const row = { ...sampleRow('conns', 0), orig_h: '10.0.1.10', orig_p: 43142, resp_h: '10.0.1.20', resp_p: 80, ts: 100, end_ts: 103, syn_ts: [100, 101, 103], synack_ts: null, midstream: false, refused: false, icmp_error_ts: null };
  h.onIcmpError!({ time: 100.0002, capturePoint: '', from: '10.0.1.1', type: 3, code: 1, srcAddr: '10.0.1.10', srcPort: 43142, dstAddr: '10.0.1.20', dstPort: 80 });
  h.onConnectionEnd!(connectionRecordOf(row, []));
  await rec.close();
  const reader = await openReader(tmp);
  try {
    const back = (await reader.query('SELECT * FROM conns'))[0]!;
    const want = { time: 100.0002, from: '10.0.1.1', type: 3, code: 1 };
    assert.deepEqual(icmpErrorOf(back), want);
    const replayed = new AnalysisSession(new KeyLog(), new Correlator()).replayConnection(connectionRecordOf(back, []), null, icmpErrorOf(back));
    assert.deepEqual(replayed.icmpError, want);
  } finally {
    await reader.close();
  }
});
