import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Memory follows what is kept, not the size of the input: nothing kept may hold on to the text
// it came from. Log lines, and the fields parsers cut from them, are slices of a 64 KiB read
// chunk (V8 keeps a slice's whole parent alive); a key log file is read as one string. Each test
// runs in a child process (--expose-gc): it writes its input so that what is kept lies far apart
// (each in a read chunk of its own), reads it, and reports the memory (heap and external strings)
// still in use while the reader's state is alive.

const src = (p: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));

/** Script text defining `used()` (heap + external bytes) and `settle()` (collect until still). */
const MEASURE = `
  const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.external; };
  const settle = async () => {
    /a/.exec('a'); // RegExp.input would otherwise hold the last line a RegExp ran on
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 50)); // external memory is given back after a collection
    globalThis.gc();
  };
`;

/** Runs `body` (an ES module script; `FILE` is a path for its log) in a child; returns its last stdout line as JSON. */
function measure<T>(imports: string, body: string): T {
  const dir = mkdtempSync(join(tmpdir(), 'ml-logmem-'));
  try {
    const script = `${imports}\nimport { writeFileSync } from 'node:fs';\nconst FILE = ${JSON.stringify(join(dir, 'log'))};\n${MEASURE}\n${body}`;
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// "Memory follows errors": analyze keeps only the error lines of an access log. An ALB log of
// 80 MB with one 502 every 250 lines (about 120 KB apart) goes to the Correlator as analyze does.
test('the error lines the Correlator keeps from an access log do not keep the log text around them', () => {
  const m = measure<{ keptMiB: number; errors: number; cases: number }>(
    `import { Correlator } from ${src('correlate/correlate.ts')};
     import { albLogView } from ${src('correlate/from-logs.ts')};
     import { readLogs } from ${src('logs/read.ts')};`,
    `
    const lines = [];
    for (let i = 0; i < 160_000; i++) {
      const status = i % 250 === 0 ? '502 -' : '200 200';
      const ts = new Date(Date.UTC(2024, 4, 1, 10, 0, 0) + i).toISOString().replace('Z', '000Z');
      lines.push('https ' + ts + ' app/my-loadbalancer/50dc6c495c0c9188 203.0.113.' + (i % 250) + ':' + (10000 + (i % 50000)) +
        ' 10.0.0.26:8080 0.001 ' + (status === '502 -' ? '-1 -1 ' : '0.002 0.000 ') + status + ' 1134 16983' +
        ' "GET https://www.example.com:443/items/' + i + '?page=' + (i % 17) + ' HTTP/1.1" "curl/8.5.0" TLS_AES_128_GCM_SHA256 TLSv1.3' +
        ' arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067' +
        ' "Root=1-663212a0-' + String(i).padStart(24, '0') + '" "www.example.com" "-" 0 ' + ts + ' "forward" "-" "-" "10.0.0.26:8080" "' +
        status.split(' ')[1] + '" "-" "-" TID_' + String(i).padStart(16, '0') + ' "-" "-" "-"');
    }
    writeFileSync(FILE, lines.join('\\n') + '\\n');
    lines.length = 0;
    await settle();
    const before = used();
    // What analyze does with each line (src/analyze/analyze.ts): a view of the lines the
    // Correlator keeps, the target of the others.
    const corr = new Correlator({});
    let errors = 0;
    await readLogs([FILE], (r) => {
      if (r.elbStatusCode >= 500) errors++;
      if (Correlator.keepsLogStatus(r.elbStatusCode)) corr.addLog(albLogView(r));
      else corr.noteLogTarget(r.targetAddr, r.targetPort);
    });
    await settle();
    const keptMiB = (used() - before) / 1048576;
    console.log(JSON.stringify({ keptMiB, errors, cases: corr.build().length }));
    `,
  );
  assert.equal(m.errors, 640);
  assert.equal(m.cases, 640);
  // 640 kept lines take well under a MiB; a 64 KiB read chunk kept per line would be 40 MiB.
  assert.ok(m.keptMiB < 5, `the Correlator holds ${m.keptMiB.toFixed(1)} MiB for ${m.cases} kept log lines`);
});

// analyze with flow logs keeps the conversations seen (to tell "not in the flow logs") and the
// REJECT rows. A flow log of 60 MB where one line in 1 000 is a new IPv6 conversation, rejected
// (IPv6 addresses are long enough to be slices of the read chunk).
test('the flow-log conversations and REJECT rows the Correlator keeps do not keep the log text around them', () => {
  const m = measure<{ keptMiB: number; rejects: number }>(
    `import { Correlator } from ${src('correlate/correlate.ts')};
     import { flowRowView } from ${src('correlate/from-logs.ts')};
     import { readLogs } from ${src('logs/read.ts')};`,
    `
    const lines = [];
    for (let i = 0; i < 600_000; i++) {
      const fresh = i % 1000 === 0;
      const src = fresh ? '2001:db8:1::' + (i / 1000).toString(16) : '172.31.16.139';
      const dst = fresh ? '2001:db8:2::' + (i / 1000).toString(16) : '172.31.16.21';
      lines.push('2 123456789010 eni-1235b8ca123456789 ' + src + ' ' + dst + ' ' + (20641 + (i % 20)) + ' 443 6 20 4249 1418530010 1418530070 ' + (fresh ? 'REJECT' : 'ACCEPT') + ' OK');
    }
    writeFileSync(FILE, lines.join('\\n') + '\\n');
    lines.length = 0;
    await settle();
    const before = used();
    // What analyze does with each row (src/analyze/analyze.ts).
    const corr = new Correlator({});
    corr.markFlowLogsGiven();
    await readLogs([FILE], (r) => {
      const v = flowRowView(r);
      if (v) corr.addFlowRow(v);
    }, { format: 'flow' });
    await settle();
    const keptMiB = (used() - before) / 1048576;
    console.log(JSON.stringify({ keptMiB, rejects: corr.flowRows.length }));
    `,
  );
  assert.equal(m.rejects, 600);
  // 600 rows and 1 200 keys take well under a MiB; a read chunk kept by each would be about 37 MiB.
  assert.ok(m.keptMiB < 5, `the Correlator holds ${m.keptMiB.toFixed(1)} MiB for ${m.rejects} REJECT rows and their conversations`);
});

// `mirrorlens logs` on VPC flow logs keeps one row per interface and per conversation. A flow
// log of 60 MB where one line in 1 000 starts a new conversation on a new interface.
test('the interfaces and conversations the logs summary keeps do not keep the log text around them', () => {
  const m = measure<{ keptMiB: number; interfaces: number; records: number }>(
    `import { LogsSummariser } from ${src('logs/summary.ts')};
     import { readLogs } from ${src('logs/read.ts')};`,
    `
    const lines = [];
    for (let i = 0; i < 600_000; i++) {
      const fresh = i % 1000 === 0;
      const eni = fresh ? 'eni-0a' + String(i).padStart(15, '0') : 'eni-1235b8ca123456789';
      const port = fresh ? 10000 + i / 1000 : 20641 + (i % 20);
      lines.push('2 123456789010 ' + eni + ' 172.31.16.139 172.31.16.21 ' + port + ' 22 6 20 4249 1418530010 1418530070 ' + (i % 7 ? 'ACCEPT' : 'REJECT') + ' OK');
    }
    writeFileSync(FILE, lines.join('\\n') + '\\n');
    lines.length = 0;
    await settle();
    const before = used();
    const summariser = new LogsSummariser();
    await readLogs([FILE], (r) => summariser.add(r), { format: 'flow' });
    await settle();
    const keptMiB = (used() - before) / 1048576;
    const report = summariser.report();
    console.log(JSON.stringify({ keptMiB, interfaces: report.flow.byInterface.length, records: report.flow.records }));
    `,
  );
  assert.equal(m.records, 600_000);
  assert.equal(m.interfaces, 601);
  // 601 interfaces and 621 conversations take well under a MiB; a read chunk kept by each new
  // one would be about 37 MiB.
  assert.ok(m.keptMiB < 5, `the summary holds ${m.keptMiB.toFixed(1)} MiB for ${m.interfaces} interfaces`);
});

// analyze reads the key log files first, then the logs and captures: the files' text must be
// gone by then (only the secrets are kept). A 40 MB key log (mostly one comment) and an ALB log
// with a good line and a bad line: analyze reports the bad line while reading the logs, and the memory in use
// is measured right then, from the warning callback.
test('analyze does not keep the key log text while it reads logs and captures', () => {
  const m = measure<{ keptMiB: number; warned: boolean }>(
    `import { analyze } from ${src('analyze/analyze.ts')};
     import { readFileSync } from 'node:fs';`,
    `
    const keyLog = FILE + '.keys';
    const line = 'CLIENT_TRAFFIC_SECRET_0 ' + 'ab'.repeat(32) + ' ' + 'cd'.repeat(32);
    writeFileSync(keyLog, line + '\\n# ' + 'x'.repeat(40 * 1024 * 1024) + '\\n');
    // A bad line after a good one (a log with no good line at all is an error, not a warning).
    writeFileSync(FILE, readFileSync(${JSON.stringify(join(import.meta.dirname, '../../examples/idle-reset/alb-access.log'))}, 'utf8').split('\\n')[0] + '\\nnot an access log line\\n');
    await settle();
    const before = used();
    let keptMiB = null;
    await analyze({ captures: [], keylogs: [keyLog], albLogs: [FILE] }, {
      onWarning() {
        if (keptMiB !== null) return;
        /a/.exec('a');
        globalThis.gc(); // (external strings are freed at once here: none is in use by then)
        keptMiB = (used() - before) / 1048576;
      },
    });
    console.log(JSON.stringify({ keptMiB, warned: keptMiB !== null }));
    `,
  );
  assert.ok(m.warned, 'analyze gave no warning for the bad log line');
  assert.ok(m.keptMiB < 10, `${m.keptMiB.toFixed(1)} MiB in use while analyze reads the logs, after a 40 MB key log`);
});

// The key log keeps its secrets by client random: a stored map key cut from the text with
// slice() (then toLowerCase(), which hands back the same string when it is lower case already,
// as key logs are written) would keep the whole text. 2 000 sessions and a 40 MB comment.
for (const lines of ['fast', 'general'] as const) {
  test(`stored key-log secrets do not keep the key log text alive (${lines} line parser)`, () => {
    const m = measure<{ keptMiB: number; sessions: number }>(
      `import { KeyLog } from ${src('tls/keylog.ts')};`,
      `
      // 'general': two spaces between fields, so every line takes the general parser.
      const sep = ${JSON.stringify(lines)} === 'fast' ? ' ' : '  ';
      const hex = (i, n) => i.toString(16).padStart(n, '0');
      const parts = [];
      for (let i = 0; i < 2000; i++) {
        parts.push('CLIENT_TRAFFIC_SECRET_0' + sep + hex(i, 64) + sep + hex(i + 1, 64));
        parts.push('SERVER_TRAFFIC_SECRET_0' + sep + hex(i, 64) + sep + hex(i + 2, 64));
      }
      writeFileSync(FILE, parts.join('\\n') + '\\n# ' + 'x'.repeat(40 * 1024 * 1024) + '\\n');
      parts.length = 0;
      await settle();
      const before = used();
      const k = new KeyLog();
      const issues = k.addFile(FILE);
      if (issues.length) throw new Error(JSON.stringify(issues[0]));
      await settle();
      console.log(JSON.stringify({ keptMiB: (used() - before) / 1048576, sessions: k.size }));
      `,
    );
    assert.equal(m.sessions, 2000);
    assert.ok(m.keptMiB < 5, `${m.keptMiB.toFixed(1)} MiB still in use after reading a 40 MB key log of 2 000 sessions`);
  });
}

// A SYN flood: every attempt was kept whole as "trouble" (about 1.5 KB each, then a finding each).
// Now the Correlator counts them per destination and keeps a bounded few.
test('the Correlator counts the attempts of a SYN flood instead of keeping them', () => {
  const m = measure<{ keptMiB: number; attempts: number; cases: number }>(
    `import { Correlator } from ${src('correlate/correlate.ts')};`,
    `
    await settle();
    const before = used();
    const corr = new Correlator({});
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const t = 1_700_000_000 + i / 100_000;
      corr.addConnection({
        uid: 'C' + i, communityId: '1:' + String(i).padStart(27, 'x') + '=', capturePoint: 'vni:7',
        clientAddr: '100.64.' + ((i >> 8) & 255) + '.' + (i & 255) + (i >> 16 ? String(i >> 16) : ''), clientPort: 1024 + (i % 60000),
        serverAddr: '10.0.1.20', serverPort: 80, startTime: t, endTime: t, connState: 'S0', history: 'S', rttSeconds: null,
        synTimes: [t], synAckTime: null, refused: false, closedBy: null, closeHow: null, maxIdleSeconds: 0, idleGaps: [], gapBytes: 0,
        midstream: false, marks: [{ time: t, fromClient: true, kind: 'syn', length: 0, idleBeforeSeconds: 0, acksAllPeerData: null }],
        requests: 0, tlsFailure: null,
      });
    }
    await settle();
    const keptMiB = (used() - before) / 1048576;
    console.log(JSON.stringify({ keptMiB, attempts: corr.attemptSummaries()[0].attempts, cases: corr.build().length }));
    `,
  );
  assert.equal(m.attempts, 40_000);
  assert.equal(m.cases, 0);
  // 40 000 attempts kept whole were 40+ MiB; counted, with a bounded few kept, well under 5.
  assert.ok(m.keptMiB < 5, `the Correlator holds ${m.keptMiB.toFixed(1)} MiB for a flood of ${m.attempts} SYNs`);
});

// The native first pass hands over its rows (the last chunk, or every chunk where none could be
// written to its temporary file), copied into the survey's records (which keep at most a few chunks
// in memory); what it handed over must not stay alive with the analysis that goes on after it (the
// whole block of rows did: the native callback's handle scope held it while the microtasks after it
// ran, i.e. the whole rest of a targeted analysis).
test('the native first pass does not keep its rows alive once they are in the survey records', (t) => {
  const m = measure<{ declined?: string; rows: number; arrayMiB: number; blockMiB: number }>(
    `import { startNativeFirstPass } from ${src('flow/first-pass-native.ts')};
     import { generateSynFlood } from ${JSON.stringify(fileURLToPath(new URL('../analyze/synflood.ts', import.meta.url)))};`,
    `
    const { capture } = generateSynFlood(30_000, FILE, { real: 0 });
    await settle();
    const r = await startNativeFirstPass([capture], { idleGapThresholdSeconds: 30 }, null).result;
    if ('declined' in r) console.log(JSON.stringify({ declined: r.declined, rows: 0, arrayMiB: 0, blockMiB: 0 }));
    else {
      // (Measured from the microtasks that follow the pass, as the analysis runs: no macrotask in between.)
      /a/.exec('a');
      globalThis.gc();
      globalThis.gc();
      const arrayMiB = process.memoryUsage().arrayBuffers / 1048576;
      // The block: 19 doubles and 20 integers a row (native/analyze/survey.h).
      console.log(JSON.stringify({ rows: r.recs.size, arrayMiB, blockMiB: (r.recs.size * (19 * 8 + 20 * 4)) / 1048576 }));
    }
    `,
  );
  if (m.declined !== undefined) {
    t.skip(`native first pass declined: ${m.declined}`);
    return;
  }
  assert.equal(m.rows, 30_000);
  // The records keep about 2 MiB of chunks, uid words and SYN times for 30 000 rows; the block alone was 6.6 MiB.
  assert.ok(m.arrayMiB < m.blockMiB * 0.6, `${m.arrayMiB.toFixed(1)} MiB of array buffers in use after the pass (the block is ${m.blockMiB.toFixed(1)} MiB)`);
});
