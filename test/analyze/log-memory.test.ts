import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// "Memory follows errors, not log size": analyze keeps only the error lines of an access log,
// and what it keeps must not hold on to the text around them. A child process writes an ALB log
// of 80 MB with one 502 every 250 lines (about 120 KB apart, so each in a read chunk of its own),
// feeds it to the Correlator as analyze does and reports the memory (heap and external strings)
// still in use while the Correlator holds what it kept.
test('the error lines the Correlator keeps from an access log do not keep the log text around them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-logmem-'));
  try {
    const src = (p: string) => fileURLToPath(new URL(`../../src/${p}`, import.meta.url));
    const script = `
      import { writeFileSync } from 'node:fs';
      import { Correlator } from ${JSON.stringify(src('correlate/correlate.ts'))};
      import { albLogView } from ${JSON.stringify(src('correlate/from-logs.ts'))};
      import { readLogs } from ${JSON.stringify(src('logs/read.ts'))};
      const file = ${JSON.stringify(join(dir, 'alb.log'))};
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
      writeFileSync(file, lines.join('\\n') + '\\n');
      lines.length = 0;
      const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.external; };
      const settle = async () => {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 50)); // external memory is given back after a collection
        globalThis.gc();
      };
      await settle();
      const before = used();
      // What analyze does with each line (src/report/analyze.ts): a view of the lines the
      // Correlator keeps, the target of the others.
      const corr = new Correlator({});
      let errors = 0;
      await readLogs([file], (r) => {
        if (r.elbStatusCode >= 500) errors++;
        if (Correlator.keepsLogStatus(r.elbStatusCode)) corr.addLog(albLogView(r));
        else corr.noteLogTarget(r.targetAddr, r.targetPort);
      });
      /a/.exec('a'); // RegExp.input would otherwise hold the last line a RegExp ran on
      await settle();
      const keptMiB = (used() - before) / 1048576;
      const cases = corr.build();
      console.log(JSON.stringify({ keptMiB, errors, cases: cases.length }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { keptMiB: number; errors: number; cases: number };
    assert.equal(m.errors, 640);
    assert.equal(m.cases, 640);
    // 640 kept lines take well under a MiB; a 64 KiB read chunk kept per line would be 40 MiB.
    assert.ok(m.keptMiB < 5, `the Correlator holds ${m.keptMiB.toFixed(1)} MiB for ${m.cases} kept log lines`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
