/**
 * HTML renderer: one self-contained file (no network, no script), a finding list and, per finding,
 * an SVG ladder diagram of the client↔LB and LB↔target connections on one time axis with the idle
 * gap, the request, the RST/FIN and the status drawn, and the matching log lines.
 * Every captured string goes through escapeHtml; a Content-Security-Policy forbids scripts anyway.
 */
import type { Finding, TimelineMark } from '../diagnose/finding.js';
import { formatSeconds } from '../diagnose/timeouts.js';
import { escapeHtml as h } from './escape.js';
import { isoTime } from './json.js';
import type { Report } from '../analyze/model.js';
import { dissectionLine } from './text.js';

const COLORS: Record<TimelineMark['kind'], string> = {
  syn: '#555',
  synack: '#555',
  data: '#777',
  request: '#1f5fbf',
  response: '#1a7f37',
  fin: '#c26c00',
  rst: '#d1242f',
  idle: '#999',
  log: '#6f42c1',
  note: '#444',
};

/** One row per mark (marks at the same instant do not overlap); long silences become a fixed-height break. */
function timeAxis(times: number[], top: number): { ys: number[]; breaks: { y: number; seconds: number }[]; height: number } {
  const ys: number[] = [];
  const breaks: { y: number; seconds: number }[] = [];
  let y = top;
  for (let i = 0; i < times.length; i++) {
    if (i > 0) {
      const dt = times[i]! - times[i - 1]!;
      if (dt > 2) {
        breaks.push({ y: y + 24, seconds: dt });
        y += 52;
      } else {
        y += 26 + Math.min(30, dt * 30);
      }
    }
    ys.push(y);
  }
  return { ys, breaks, height: y + 40 };
}

export function renderLadder(f: Finding): string {
  const legs = f.timeline.legs;
  if (legs.length === 0) return '';
  // A column between two legs is one host (the load balancer) with an address on each side.
  const cols: string[] = [legs[0]!.left, ...legs.map((l, i) => (legs[i + 1] && legs[i + 1]!.left !== l.right ? `${l.right} / ${legs[i + 1]!.left}` : l.right))];
  // Column names from the legs' places on the path: client | load balancer | NAT hop | target.
  const left: Record<string, string> = { client: 'client', lb: 'load balancer', target: legs.some((l) => l.role === 'lb') ? 'NAT hop' : 'load balancer / NAT hop' };
  const right: Record<string, string> = { client: 'load balancer', lb: legs.some((l) => l.role === 'target') ? 'NAT hop' : 'target', target: 'target' };
  const colNames: string[] = legs.length === 1 && legs[0]!.role === 'client' && legs[0]!.name === 'client' ? ['client', 'server'] : [left[legs[0]!.role] ?? 'client', ...legs.map((l) => right[l.role] ?? 'server')];
  const width = 220 * cols.length + 120;
  const x = (c: number) => 110 + c * 220;
  const marks = [...f.timeline.marks].filter((m) => m.kind !== 'idle').sort((a, b) => a.time - b.time);
  const axis = timeAxis(
    marks.map((m) => m.time),
    70,
  );
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="${width}" height="${axis.height}" viewBox="0 0 ${width} ${axis.height}" role="img" aria-label="ladder diagram">`);
  parts.push('<defs><marker id="ah" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>');
  cols.forEach((addr, c) => {
    parts.push(`<text x="${x(c)}" y="22" text-anchor="middle" class="col">${h(colNames[c]!)}</text>`);
    parts.push(`<text x="${x(c)}" y="40" text-anchor="middle" class="addr">${h(addr)}</text>`);
    parts.push(`<line x1="${x(c)}" y1="50" x2="${x(c)}" y2="${axis.height - 10}" class="life"/>`);
  });
  // An axis break is the time between two events shown; the finding's idle time is measured on the
  // connection (its last packet to the request), so the longest break says both, each named.
  const longest = axis.breaks.reduce((a, b) => (b.seconds > a ? b.seconds : a), 0);
  for (const br of axis.breaks) {
    const between = `${formatSeconds(br.seconds)} between the events shown`;
    const label = f.idleSeconds !== null && br.seconds === longest ? `connection idle ${formatSeconds(f.idleSeconds)} before the request (${between})` : between;
    parts.push(`<rect x="20" y="${br.y - 14}" width="${width - 40}" height="28" class="idle"/>`);
    parts.push(`<text x="${width / 2}" y="${br.y + 5}" text-anchor="middle" class="idletext">${h(label)}</text>`);
  }
  for (let i = 0; i < marks.length; i++) {
    const m = marks[i]!;
    const y = axis.ys[i]!;
    const color = COLORS[m.kind];
    const t = `<title>${h(isoTime(m.time))} ${h(m.label)}</title>`;
    if (m.dir === -1) {
      parts.push(`<g><circle cx="${x(m.leg)}" cy="${y}" r="4" fill="${color}"/>${t}<text x="${x(m.leg) + 8}" y="${y + 4}" class="lbl" fill="${color}">${h(m.label)}</text></g>`);
      continue;
    }
    const from = m.dir === 0 ? m.leg : m.leg + 1;
    const to = m.dir === 0 ? m.leg + 1 : m.leg;
    const x1 = x(from);
    const x2 = x(to);
    parts.push(
      `<g><line x1="${x1}" y1="${y - 6}" x2="${x2}" y2="${y + 6}" stroke="${color}" stroke-width="${m.kind === 'rst' ? 2.5 : 1.5}" marker-end="url(#ah)"/>${t}` +
        `<text x="${(x1 + x2) / 2}" y="${y - 9}" text-anchor="middle" class="lbl" fill="${color}">${h(m.label.length > 48 ? `${m.label.slice(0, 47)}…` : m.label)}</text></g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

function findingSection(f: Finding, i: number): string {
  const rows: [string, string][] = [];
  if (f.status !== null) rows.push(['status', String(f.status)]);
  if (f.request) rows.push(['request', `${f.request.method ?? '?'} ${f.request.path ?? '?'}${f.request.time !== null ? ` at ${isoTime(f.request.time)}` : ''}`]);
  if (f.client) rows.push(['client', f.client]);
  if (f.targetConnection) rows.push(['target connection', `${f.targetConnection.uid}: ${f.targetConnection.client} → ${f.targetConnection.server}`]);
  if (f.resetBy) rows.push(['RST sent by', f.resetBy]);
  if (f.idleSeconds !== null) rows.push(['idle before request', formatSeconds(f.idleSeconds)]);
  if (f.timeoutFits.length) rows.push(['fits', f.timeoutFits.map((t) => `${t.name} (${t.seconds} s${t.relation === 'within-range' ? ', configurable' : ''})`).join('; ')]);
  rows.push(['confidence', f.confidence]);
  const table = rows.map(([k, v]) => `<tr><th>${h(k)}</th><td>${h(v)}</td></tr>`).join('');
  const ev = f.evidence.map((e) => `<li><span class="t">${e.time !== null ? h(isoTime(e.time)) : ''}</span> <span class="src src-${h(e.source)}">${h(e.source)}</span> <code>${h(e.text)}</code></li>`).join('');
  const advice = f.advice.map((a) => `<li>${h(a)}</li>`).join('');
  const missing = f.missing.length ? `<p class="missing">Missing evidence: ${h(f.missing.join('; '))}</p>` : '';
  const cite = (w: Finding['causes'][number]) => `${h(w.aws)} <span class="src">${h(w.source)}</span>`;
  const why = f.causes.length ? `<h3>Why (AWS)</h3><ul class="why">${f.causes.map((w) => `<li><b>${h(w.title)}</b>: ${cite(w)}</li>`).join('')}</ul>` : '';
  const cands = f.candidates.length ? `<h3>Documented causes the log fits</h3><ol class="candidates">${f.candidates.map((w) => `<li><b>${h(w.title)}</b>: ${cite(w)}</li>`).join('')}</ol>` : '';
  const n = f.captureNext;
  const next = n
    ? `<h3>Capture next</h3><p>Mirror ${h(n.where)}, for ${h(n.duration)}.</p>${n.also.length ? `<ul>${n.also.map((a) => `<li>${h(a)}</li>`).join('')}</ul>` : ''}<pre class="cmd">${h(n.commands.join('\n'))}</pre><p><code>${h(n.filterFile)}</code>:</p><pre class="cmd">${h(n.filterYaml)}</pre>`
    : '';
  return `<section class="finding sev-${h(f.severity)}" id="f${i + 1}">
<h2>#${i + 1} <span class="kind">${h(f.kind)}</span>${f.status !== null ? ` <span class="status">${f.status}</span>` : ''}</h2>
<p class="summary">${h(f.summary)}</p>
<table class="facts">${table}</table>
<div class="ladderwrap">${renderLadder(f)}</div>
<h3>Evidence</h3><ol class="evidence">${ev}</ol>${missing}${why}${cands}
${advice ? `<h3>Fix</h3><ul class="advice">${advice}</ul>` : ''}${next}
</section>`;
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin:0 0 6px}h3{font-size:14px;margin:14px 0 4px}
.finding{border:1px solid #d0d7de;border-left:6px solid #999;border-radius:6px;padding:14px 18px;margin:18px 0}
.sev-error{border-left-color:#d1242f}.sev-warning{border-left-color:#bf8700}.sev-info{border-left-color:#0969da}
.kind{font-family:ui-monospace,monospace}.status{background:#ffebe9;color:#d1242f;border-radius:4px;padding:0 6px}
table.facts th{text-align:left;padding-right:14px;color:#57606a;font-weight:normal}
.ladderwrap{overflow-x:auto;margin-top:8px}svg .col{font-weight:600;font-size:13px}svg .addr{font:11px ui-monospace,monospace;fill:#57606a}
svg .life{stroke:#d0d7de;stroke-width:2}svg .lbl{font:11px ui-monospace,monospace}svg .idle{fill:#f6f8fa;stroke:#d0d7de;stroke-dasharray:4 3}
svg .idletext{font-size:12px;fill:#57606a}.evidence code{white-space:pre-wrap;overflow-wrap:anywhere}.t{color:#57606a;font-family:ui-monospace,monospace}
.src{display:inline-block;min-width:60px;font-size:12px;color:#6f42c1}.missing{color:#bf8700}
table.summary td,table.summary th{padding:2px 10px;text-align:left}`;

export function renderHtml(report: Report): string {
  const list = report.findings
    .map((f, i) => `<li><a href="#f${i + 1}">#${i + 1} ${h(f.kind)}${f.status !== null ? ` (${f.status})` : ''}</a>: ${h(f.summary)}</li>`)
    .join('');
  const counts = new Map<string, number>();
  for (const f of report.findings) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  const summary = [...counts.entries()].map(([k, n]) => `<tr><td>${h(k)}</td><td>${n}</td></tr>`).join('');
  const s = report.stats;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>mirrorlens report</title><style>${CSS}</style></head>
<body>
<h1>mirrorlens: ${report.findings.length} finding(s)</h1>
<p>${s.packets} packets, ${s.tcpConnections} TCP connections, ${s.tlsSessions} TLS sessions (${s.tlsDecrypted} decrypted), ${s.httpTransactions} HTTP transactions, ${report.logs.records} log records.${s.dissection ? ` ${h(dissectionLine(s.dissection))}` : ''}</p>
${summary ? `<table class="summary"><tr><th>kind</th><th>count</th></tr>${summary}</table>` : '<p>No load-balancer errors found to explain.</p>'}
<ol class="findings">${list}</ol>
${report.scans.length ? `<section class="scans"><h2>Connection attempts never answered</h2><ul>${report.scans.map((x) => `<li>${h(x.summary)}</li>`).join('')}</ul></section>` : ''}
${report.findings.map(findingSection).join('\n')}
<footer><p>${h(report.generator)}, report schema ${report.schemaVersion}</p></footer>
</body></html>
`;
}
