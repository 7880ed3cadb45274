// Renderers: every captured string escaped; JSON times as ISO-8601; text blocks and summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../diagnose/finding.js';
import { escapeHtml, escapeText, safeJson } from './escape.js';
import { renderHtml, renderLadder } from './html.js';
import { isoTime, reportToJson } from './json.js';
import type { Report } from '../analyze/model.js';
import { renderText } from './text.js';

const T = 1_764_000_000.123456;
const EVIL = '<script>window.__pwned=1</script>\x1b[31m"\'&';

function finding(): Finding {
  return {
    id: 'F1',
    kind: 'idle-timeout-reset',
    severity: 'error',
    confidence: 'high',
    summary: `reset ${EVIL}`,
    status: 502,
    request: { method: 'GET', path: `/x?${EVIL}`, time: T },
    client: '198.51.100.7:50000',
    targetConnection: { uid: 'C1', client: '10.0.1.5:41000', server: '10.0.2.9:8080' },
    resetBy: '10.0.2.9:8080',
    idleSeconds: 361.2,
    timeoutFits: [{ name: 'NLB TCP idle timeout', seconds: 350, relation: 'just-above' }],
    evidence: [{ time: T, source: 'http', text: `User-Agent: ${EVIL}` }],
    advice: ['Enable TCP keepalive'],
    missing: [],
    connectionUids: ['C1'],
    legs: [
      { role: 'client', seen: false, uid: null, client: null, server: null, capturePoints: [], joinedBy: null, note: 'not captured' },
      { role: 'lb', seen: true, uid: 'C1', client: '10.0.1.5:41000', server: '10.0.2.9:8080', capturePoints: ['vni:2'], joinedBy: null, note: 'the RST came at once after the idle gap' },
      { role: 'target', seen: false, uid: null, client: null, server: null, capturePoints: [], joinedBy: null, note: 'not captured' },
    ],
    timeline: {
      legs: [{ role: 'lb', name: 'LB ↔ target', uid: 'C1', left: '10.0.1.5:41000', right: '10.0.2.9:8080' }],
      marks: [
        { time: T - 361.2, leg: 0, dir: 1, kind: 'response', label: 'HTTP 200' },
        { time: T, leg: 0, dir: 0, kind: 'request', label: `GET ${EVIL}` },
        { time: T + 0.0003, leg: 0, dir: 1, kind: 'rst', label: 'RST' },
      ],
    },
    causes: [{ id: '502-closed-with-request-outstanding', title: `target closed ${EVIL}`, aws: 'The target closed the connection with a TCP RST or a TCP FIN while the load balancer had an outstanding request.', source: 'https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html#http-502-issues' }],
    candidates: [],
    occurrences: null,
    captureNext: null,
  };
}

function report(): Report {
  return {
    schemaVersion: 2,
    generator: 'mirrorlens test',
    inputs: { captures: ['a.pcapng'], keylogs: [], albLogs: [], nlbLogs: [], flowLogs: [] },
    findings: [finding()],
    connections: [],
    transactions: [],
    scans: [],
    logs: { files: 0, records: 0, badLines: 0, byKind: {}, byElbStatus: {}, errors5xx: 0, clockSkewSeconds: null },
    stats: { captures: 1, packets: 10, bytes: 1000, connections: 1, tcpConnections: 1, tlsSessions: 0, tlsDecrypted: 0, httpTransactions: 2, httpResponses: 1, findingsByKind: { 'idle-timeout-reset': 1 }, warnings: [], elapsedSeconds: 0.1 },
  };
}

test('escapeText turns terminal control characters into visible escapes', () => {
  assert.equal(escapeText('a\x1b[31mb\x07\r\n'), 'a\\x1b[31mb\\x07\\x0d\\x0a');
  assert.equal(escapeText('tab\tok'), 'tab\tok');
  assert.equal(escapeText('bidi\u202eX'), 'bidi\\u202eX');
});

test('escapeHtml neutralises markup and quotes; safeJson leaves no terminal control raw', () => {
  assert.equal(escapeHtml(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(safeJson({ a: 'x\u009b31m\u202e\x1b' }), '{"a":"x\\u009b31m\\u202e\\u001b"}');
  assert.deepEqual(JSON.parse(safeJson({ a: 'x\u009b\u202e' }, 2)), { a: 'x\u009b\u202e' });
});

test('isoTime keeps microseconds', () => {
  assert.equal(isoTime(T), '2025-11-24T16:00:00.123456Z');
});

test('JSON converts every time field to ISO-8601 and keeps the schema version', () => {
  const j = reportToJson(report()) as { schemaVersion: number; findings: { request: { time: string }; evidence: { time: string }[] }[] };
  assert.equal(j.schemaVersion, 2);
  assert.equal(j.findings[0]!.request.time, '2025-11-24T16:00:00.123456Z');
  assert.equal(j.findings[0]!.evidence[0]!.time, '2025-11-24T16:00:00.123456Z');
});

test('text output has the finding block, the timeline, the summary and no raw ESC', () => {
  const out = renderText(report());
  assert.match(out, /#1 idle-timeout-reset 502/);
  assert.match(out, /RST sent by 10\.0\.2\.9:8080/);
  assert.match(out, /fits: NLB TCP idle timeout \(350 s\)/);
  assert.match(out, /Summary/);
  assert.ok(!out.includes('\x1b'), 'no raw escape character from captured data');
});

test('HTML is self-contained, has the SVG ladder with the idle break, and no captured markup survives', () => {
  const html = renderHtml(report());
  assert.ok(html.includes('<svg'));
  assert.match(html, /idle 6 min 1 s/);
  assert.ok(!html.includes('<script'), 'no script element at all');
  // AWS's source links are cited as text; nothing is loaded from the network.
  assert.ok(!/(?:src|href|action)\s*=\s*["']?\s*https?:|url\(\s*["']?\s*https?:|@import/i.test(html), 'no network reference');
  assert.ok(html.includes('load-balancer-troubleshooting.html#http-502-issues'), 'the AWS cause is cited');
  assert.ok(html.includes('target closed &lt;script&gt;'), 'a cause title is escaped');
  assert.ok(html.includes('&lt;script&gt;window.__pwned=1&lt;/script&gt;'));
  assert.match(html, /Content-Security-Policy/);
});

test('a finding over three legs draws one lane per leg: client, load balancer, NAT hop, target columns; the text lists the legs', () => {
  const f = finding();
  f.timeline = {
    legs: [
      { role: 'client', name: 'client ↔ LB', uid: 'C0', left: '198.51.100.7:50000', right: '10.0.1.4:443' },
      { role: 'lb', name: 'LB ↔ hop', uid: 'C1', left: '10.0.1.5:41000', right: '10.0.1.20:80' },
      { role: 'target', name: 'hop ↔ target', uid: 'C2', left: '10.0.1.20:2035', right: '10.0.2.9:8080' },
    ],
    marks: [
      { time: T, leg: 0, dir: 0, kind: 'request', label: 'GET /a' },
      { time: T + 0.0001, leg: 1, dir: 0, kind: 'request', label: 'GET /a' },
      { time: T + 0.0003, leg: 1, dir: 1, kind: 'rst', label: 'RST' },
      { time: T + 0.0005, leg: 0, dir: 1, kind: 'response', label: 'HTTP 502' },
    ],
  };
  f.legs[2] = { role: 'target', seen: true, uid: 'C2', client: '10.0.1.20:2035', server: '10.0.2.9:8080', capturePoints: ['target-eni'], joinedBy: { key: 'tcp-isn', confidence: 'high', detail: 'client ISN 1 and server ISN 2 on both sides' }, note: 'no request arrived' };
  const r = report();
  r.findings = [f];
  const svg = renderLadder(f);
  for (const col of ['client', 'load balancer', 'NAT hop', 'target']) assert.ok(svg.includes(`class="col">${col}</text>`), col);
  assert.equal((svg.match(/class="col"/g) ?? []).length, 4);
  const text = renderText(r);
  assert.match(text, /legs:/);
  assert.match(text, /hop → target\s+10\.0\.1\.20:2035 -> 10\.0\.2\.9:8080 at target-eni; joined by tcp-isn \(high: client ISN 1/);
  assert.match(text, /client ↔ LB\s+not seen/);
});
