// The HTML report in a real headless Chromium (Debian's chromium driven by playwright-core):
// it renders the ladder SVG, and a finding whose captured strings try script injection runs no
// script, makes no request and shows the text literally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtml } from '../../src/report/html.js';
import type { Report } from '../../src/analyze/model.js';
import type { Finding } from '../../src/diagnose/finding.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const T = 1_764_000_000;
const INJECT = [
  '<script>window.__pwned=1</script>',
  '<img src=x onerror="window.__pwned=2">',
  '"><svg onload="window.__pwned=3">',
  "';window.__pwned=4;//",
  '</text><foreignObject><script>window.__pwned=5</script></foreignObject>',
  '<link rel=stylesheet href="http://127.0.0.1:9/x.css">',
].join(' ');

function evilReport(): Report {
  const f: Finding = {
    id: 'F1',
    kind: 'idle-timeout-reset',
    severity: 'error',
    confidence: 'high',
    summary: `The request ${INJECT} was reset`,
    status: 502,
    request: { method: `GET${INJECT}`, path: `/p${INJECT}`, time: T },
    client: '198.51.100.7:50000',
    targetConnection: { uid: 'C1', client: '10.0.1.5:41000', server: '10.0.2.9:8080' },
    resetBy: '10.0.2.9:8080',
    idleSeconds: 361,
    timeoutFits: [],
    evidence: [{ time: T, source: 'http', text: `User-Agent: ${INJECT}` }],
    advice: ['Enable TCP keepalive'],
    missing: [],
    connectionUids: ['C1'],
    legs: [
      { role: 'client', seen: false, uid: null, client: null, server: null, capturePoints: [], joinedBy: null, note: 'not captured' },
      { role: 'lb', seen: true, uid: 'C1', client: '10.0.1.5:41000', server: '10.0.2.9:8080', capturePoints: ['vni:2'], joinedBy: null, note: 'the RST came at once after the idle gap' },
      { role: 'target', seen: false, uid: null, client: null, server: null, capturePoints: [], joinedBy: null, note: 'not captured' },
    ],
    timeline: {
      legs: [
        { role: 'client', name: 'client ↔ LB', uid: 'C0', left: '198.51.100.7:50000', right: '10.0.1.4:443' },
        { role: 'lb', name: 'LB ↔ target', uid: 'C1', left: '10.0.1.5:41000', right: '10.0.2.9:8080' },
      ],
      marks: [
        { time: T - 361, leg: 1, dir: 1, kind: 'response', label: 'HTTP 200' },
        { time: T, leg: 0, dir: 0, kind: 'request', label: `GET ${INJECT}` },
        { time: T + 0.0001, leg: 1, dir: 0, kind: 'request', label: `GET ${INJECT}` },
        { time: T + 0.0003, leg: 1, dir: 1, kind: 'rst', label: 'RST' },
        { time: T + 0.0005, leg: 0, dir: 1, kind: 'response', label: 'HTTP 502' },
      ],
    },
    causes: [{ id: 'x', title: `cause ${INJECT}`, aws: `says ${INJECT}`, source: `https://docs.aws.amazon.com/${INJECT}` }],
    candidates: [{ id: 'y', title: `candidate ${INJECT}`, aws: `says ${INJECT}`, source: 'javascript:alert(1)' }],
    occurrences: { count: 3, firstTime: T, lastTime: T + 60 },
    captureNext: { where: `where ${INJECT}`, seconds: 600, duration: `d ${INJECT}`, filterFile: `f${INJECT}.yaml`, filterYaml: `ingress: ${INJECT}`, also: [`also ${INJECT}`], commands: [`cmd ${INJECT}`] },
  };
  return {
    schemaVersion: 2,
    generator: 'mirrorlens test',
    inputs: { captures: [], keylogs: [], albLogs: [], nlbLogs: [], flowLogs: [] },
    findings: [f],
    connections: [],
    transactions: [],
    scans: [],
    logs: { files: 0, records: 0, badLines: 0, byKind: {}, byElbStatus: {}, errors5xx: 0, clockSkewSeconds: null },
    stats: { captures: 1, packets: 1, bytes: 1, connections: 2, tcpConnections: 2, tlsSessions: 0, tlsDecrypted: 0, httpTransactions: 2, httpResponses: 1, findingsByKind: {}, warnings: [], elapsedSeconds: 0 },
  };
}

test('the HTML report renders in Chromium and captured script injection stays inert', { skip: CHROMIUM ? false : 'chromium is not installed (apt-get install chromium)' }, async () => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'ml-html-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, renderHtml(evilReport()));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    const dialogs: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`file://${file}`);
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned ?? null), null, 'no injected script ran');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(requests, [], 'the report makes no network request');
    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.locator('section.finding svg.ladder').count(), 1);
    const svgText = await page.locator('svg.ladder').textContent();
    assert.match(svgText ?? '', /idle 6 min 1 s/);
    assert.match(svgText ?? '', /RST/);
    const summary = await page.locator('p.summary').textContent();
    assert.ok(summary?.includes('<script>window.__pwned=1</script>'), 'the injection shows as literal text');
    const box = await page.locator('svg.ladder').boundingBox();
    assert.ok(box && box.width > 400 && box.height > 100, 'the ladder has a visible size');
    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
