import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAUSES, GROUPS, candidateCauses, causeById, groupName, matchCauses, type LogLineFacts, type LogSignature } from './index.js';

const ids = (status: number | null, service = 'alb') => CAUSES.filter((c) => c.status === status && c.service === service).map((c) => c.id);

test('every cause has a unique id, an AWS source link, a paraphrase, evidence and a fix', () => {
  assert.equal(new Set(CAUSES.map((c) => c.id)).size, CAUSES.length);
  for (const c of CAUSES) {
    assert.match(c.aws.source, /^https:\/\/(docs\.aws\.amazon\.com|repost\.aws)\//, c.id);
    assert.ok(c.aws.says.length > 20, c.id);
    assert.ok(c.evidence.length > 10 && c.fix.length > 0 && c.title.length > 5, c.id);
    assert.ok(c.log.length > 0 || c.metrics.length > 0 || c.packets !== null, `${c.id}: nothing shows it`);
    if (c.confidence.withPackets !== 'none') assert.ok(c.packets && c.capture !== undefined, `${c.id}: packets add confidence but no packet signature`);
    if (c.packets === null) assert.equal(c.confidence.withPackets, 'none', c.id);
  }
});

test('the catalogue covers every cause AWS documents for 502 (eight), 504 (five) and the other own answers', () => {
  assert.deepEqual(ids(502), [
    '502-rst-on-connect', '502-icmp-unreachable', '502-closed-with-request-outstanding', '502-malformed-response',
    '502-response-headers-too-large', '502-target-tls-handshake', '502-deregistration-delay', '502-lambda',
  ]);
  assert.deepEqual(ids(504), ['504-connect-timeout', '504-target-idle-timeout', '504-nacl-return-path', '504-content-length-over-body', '504-lambda']);
  for (const s of [460, 463, 464, 500, 501, 503, 505, 561, 0]) assert.ok(ids(s).length > 0, `no cause for ${s}`);
  assert.ok(ids(null, 'nlb').length >= 4 && ids(null, 'nat-gateway').length >= 2 && CAUSES.filter((c) => c.service === 'clb').length >= 4);
});

test('causes the log cannot tell apart share a group, and every such group says what it leaves open', () => {
  const usual = new Map<string, string[]>();
  for (const c of CAUSES) {
    if (c.log.length === 0 || c.group.includes('{code}')) continue;
    const k = `${c.group} ${JSON.stringify({ ...c.log[0], basis: undefined })}`;
    usual.set(k, [...(usual.get(k) ?? []), c.id]);
  }
  for (const [k, members] of usual) {
    if (members.length < 2) continue;
    const g = k.split(' ')[0]!;
    assert.ok(GROUPS[g]?.open, `${g} (${members.join(', ')}) has no 'open' text`);
  }
});

/** Facts that satisfy a signature exactly (every pinned field set as it asks). */
function factsFor(s: LogSignature): LogLineFacts {
  const t = (c: string | undefined) => (c === '>=0' ? 0.01 : null);
  const elb = s.elbStatus === 'none' ? null : (s.elbStatus?.[0] ?? 502);
  return {
    log: s.log,
    type: s.type?.[0] ?? 'https',
    elbStatus: elb,
    targetStatus: s.targetStatus === 'same' ? elb : s.targetStatus === 'other' || s.targetStatus === 'set' ? 200 : null,
    times: s.times ? [t(s.times[0]), t(s.times[1]), t(s.times[2])] : [0, 0, 0],
    elapsedSeconds: s.elapsedSeconds ? (s.elapsedSeconds.min ?? 0) + 0.5 : null,
    targetSet: s.target !== 'none',
    errorReason: Array.isArray(s.errorReason) ? s.errorReason[0]! : s.errorReasonPrefix ? `${s.errorReasonPrefix}Unhandled` : null,
    actions: s.actions?.has ? [...s.actions.has] : ['forward'],
    classification: null,
    targetStatusListSet: s.targetStatusList === undefined ? null : s.targetStatusList === 'set',
    tlsAlert: s.tlsAlert === 'set' ? 48 : null,
    tlsCompleted: s.tlsCompleted ?? true,
  };
}

test('every log signature in the catalogue is reached by a line that has it', () => {
  for (const c of CAUSES) {
    c.log.forEach((s, i) => {
      const found = matchCauses(factsFor(s)).map((m) => m.cause.id);
      assert.ok(found.includes(c.id), `${c.id} signature ${i}: matched ${found.join(', ') || 'nothing'}`);
    });
  }
});

const ALB: LogLineFacts = {
  log: 'alb', type: 'https', elbStatus: 502, targetStatus: null, times: [null, null, null], elapsedSeconds: 0.003, targetSet: true,
  errorReason: null, actions: ['forward'], classification: null, targetStatusListSet: false, tlsAlert: null, tlsCompleted: null,
};
const cands = (f: Partial<LogLineFacts>) => candidateCauses(matchCauses({ ...ALB, ...f })).map((m) => m.cause.id);

test('AWS\'s Lambda failure example decides the cause from error_reason alone', () => {
  assert.deepEqual(cands({ targetSet: false, times: [0, 0.001, 0], errorReason: 'LambdaInvalidResponse', targetStatusListSet: null }), ['502-lambda']);
});

test('a 504 after 10 s with nothing dispatched: connect timeout or a blocked return path, nothing else', () => {
  assert.deepEqual(cands({ elbStatus: 504, elapsedSeconds: 10.002 }), ['504-connect-timeout', '504-nacl-return-path']);
});

test('a 504 whose target had sent a status: the body never completed', () => {
  assert.deepEqual(cands({ elbStatus: 504, targetStatus: 200, times: [0, 0.02, null], targetStatusListSet: true }), ['504-content-length-over-body']);
});

test('the target\'s own error and a fixed response are named as such, with the code in the group name', () => {
  const t = matchCauses({ ...ALB, targetStatus: 502, times: [0, 0.1, 0] });
  assert.equal(t[0]!.cause.id, 'target-error');
  assert.equal(groupName(t[0]!.cause, 502), '502-from-target');
  assert.equal(matchCauses({ ...ALB, elbStatus: 503, targetSet: false, actions: ['fixed-response'] })[0]!.cause.id, 'fixed-response');
  assert.deepEqual(cands({ elbStatus: 503, targetSet: false }), ['503-no-registered-targets']);
});

test('an NLB TLS log line with a client alert, and one cut before the handshake completed', () => {
  const nlb: LogLineFacts = { ...ALB, log: 'nlb', elbStatus: null, targetSet: false, tlsAlert: 48, tlsCompleted: false };
  assert.deepEqual(cands(nlb), ['nlb-tls-client-alert']);
  assert.deepEqual(cands({ ...nlb, tlsAlert: null }), ['nlb-tls-handshake-incomplete']);
  assert.deepEqual(cands({ ...nlb, tlsAlert: null, tlsCompleted: true }), []);
});

test('packet verdicts point back to the causes they prove', () => {
  assert.equal(causeById('502-closed-with-request-outstanding')!.packets!.verdicts.includes('keepalive-race'), true);
  assert.equal(causeById('nope'), undefined);
});
