/**
 * Plain-words meaning of load-balancer errors in access logs, from AWS's troubleshooting table
 * ("HTTP 502: Bad Gateway", ...) and from what the log fields themselves say: which side produced
 * the status (target_status_code `-` means the load balancer answered itself), and how far the
 * request got (a processing time of `-1`, null here, marks the step that never happened).
 *
 * Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
 * and https://repost.aws/knowledge-center/elb-alb-troubleshoot-502-errors
 */
import type { AlbLogRecord } from './alb.js';
import type { ClbLogRecord } from './clb.js';
import type { NlbLogRecord } from './nlb.js';
import { candidateCauses, GROUPS, groupName, matchCauses, type Cause, type LogLineFacts } from './causes/index.js';

export interface ErrorExplanation {
  /** One sentence: who answered and what happened. */
  meaning: string;
  /** Causes to check, most likely first, each with what to change. */
  likelyCauses: string[];
  /** `load-balancer` when it generated the status itself, `target` when it passed the target's on; `client` for an NLB TLS handshake the client ended or left. */
  origin: 'load-balancer' | 'target' | 'client';
  /** Short machine name of the pattern matched (`502-target-closed`, `504-idle-timeout`, ...). */
  pattern: string;
  /** Catalogue ids of the documented causes the line fits, most likely first (causes/index.ts). */
  causes: string[];
  /** What the log fields cannot tell apart (null when one cause fits). */
  open: string | null;
}

/** What error_reason codes mean (authenticate, Lambda, WAF and weighted-target-group codes). */
export const ERROR_REASONS: Record<string, string> = {
  AuthInvalidCookie: 'the authentication session cookie is not valid',
  AuthInvalidGrantError: 'the authorization grant code from the token endpoint is not valid',
  AuthInvalidIdToken: 'the ID token is not valid',
  AuthInvalidStateParam: 'the state parameter is not valid',
  AuthInvalidTokenResponse: 'the response from the token endpoint is not valid',
  AuthInvalidUserinfoResponse: 'the response from the user info endpoint is not valid',
  AuthMissingCodeParam: 'the IdP response lacks the code query parameter',
  AuthMissingHostHeader: 'the request has no Host header (needed for the redirect)',
  AuthMissingStateParam: 'the IdP response lacks the state parameter',
  AuthTokenEpRequestFailed: 'the token endpoint answered with an error',
  AuthTokenEpRequestTimeout: 'the token endpoint did not answer in time',
  AuthUnhandledException: 'an unhandled error in the authenticate action',
  AuthUserinfoEpRequestFailed: 'the user info endpoint answered with an error',
  AuthUserinfoEpRequestTimeout: 'the user info endpoint did not answer in time',
  AuthUserinfoResponseSizeExceeded: 'the IdP returned user claims larger than 11 KB',
  AWSALBTGCookieInvalid: 'the target-group stickiness cookie (AWSALBTG) is not valid',
  WeightedTargetGroupsUnhandledException: 'an unhandled error in weighted target group routing',
  LambdaAccessDenied: 'the load balancer has no permission to invoke the Lambda function',
  LambdaBadRequest: 'the client request headers or body are not only UTF-8 (Lambda invocation failed)',
  LambdaConnectionTimeout: 'the Lambda service did not accept the invocation in time',
  LambdaEC2AccessDeniedException: 'Lambda could not set up the function network interface (EC2 access denied)',
  LambdaEC2ThrottledException: 'Lambda was throttled by EC2 while setting up the function network interface',
  LambdaEC2UnexpectedException: 'Lambda hit an unexpected EC2 error while setting up the function network interface',
  LambdaENILimitReachedException: 'the function could not get a network interface (ENI limit reached)',
  LambdaInvalidResponse: 'the Lambda function response is malformed (missing fields or wrong types)',
  LambdaInvalidRuntimeException: 'the function runtime is not supported',
  LambdaInvalidSecurityGroupIDException: 'the function security group id is not valid',
  LambdaInvalidSubnetIDException: 'the function subnet id is not valid',
  LambdaInvalidZipFileException: 'the function deployment package is not valid',
  LambdaKMSAccessDeniedException: 'Lambda cannot decrypt the environment variables (KMS access denied)',
  LambdaKMSDisabledException: 'the KMS key for the environment variables is disabled',
  LambdaKMSInvalidStateException: 'the KMS key for the environment variables is in an invalid state',
  LambdaKMSNotFoundException: 'the KMS key for the environment variables was not found',
  LambdaRequestTooLarge: 'the request body is larger than 1 MB (Lambda limit)',
  LambdaResourceNotFound: 'the Lambda function does not exist',
  LambdaResponseTooLarge: 'the Lambda response is larger than 1 MB',
  LambdaServiceException: 'the Lambda service had an internal error',
  LambdaSubnetIPAddressLimitReachedException: 'the function subnet has no free IP addresses',
  LambdaThrottling: 'the Lambda function was throttled (concurrency limit)',
  LambdaUnhandled: 'the Lambda function raised an unhandled error',
  LambdaUnhandledException: 'the Lambda function raised an unhandled exception',
  WAFConnectionError: 'the load balancer could not connect to AWS WAF',
  WAFConnectionTimeout: 'the connection to AWS WAF timed out',
  WAFResponseReadTimeout: 'reading the AWS WAF response timed out',
  WAFServiceError: 'AWS WAF returned an error',
  WAFUnhandledException: 'an unhandled error while calling AWS WAF',
};

/** Plain words for an error_reason code (null when unknown or absent). */
export function explainErrorReason(code: string | null): string | null {
  if (code === null) return null;
  const m = ERROR_REASONS[code];
  if (m !== undefined) return m;
  if (code.startsWith('Lambda')) return 'the Lambda target failed (see the Lambda function logs)';
  if (code.startsWith('Auth')) return 'the authenticate action failed';
  if (code.startsWith('WAF')) return 'the call to AWS WAF failed';
  return null;
}

/** The fields the explanation looks at, common to ALB and Classic LB entries. */
interface LbErrorFacts {
  elbStatusCode: number | null;
  targetStatusCode: number | null;
  targetAddr: string | null;
  requestProcessingSeconds: number | null;
  targetProcessingSeconds: number | null;
  responseProcessingSeconds: number | null;
  elapsedSeconds: number | null;
  errorReason: string | null;
  actionsExecuted: string[];
  classification: string | null;
  classificationReason: string | null;
  targetStatusListSet: boolean | null;
  type: string | null;
  word: 'target' | 'instance';
}

/** One documented cause as a line of `likelyCauses`: what it is, and the first thing to change. */
export function causeLine(c: Cause, word: 'target' | 'instance' = 'target'): string {
  const text = `${c.title}: ${c.fix[0] ?? c.aws.says}`;
  return word === 'target' ? text : text.replace(/\btargets?\b/g, (m) => (m === 'target' ? 'instance' : 'instances'));
}

/** The catalogue's facts for a line. */
function lineFacts(r: LbErrorFacts, log: 'alb' | 'clb'): LogLineFacts {
  return {
    log,
    type: r.type,
    elbStatus: r.elbStatusCode,
    targetStatus: r.targetStatusCode,
    times: [r.requestProcessingSeconds, r.targetProcessingSeconds, r.responseProcessingSeconds],
    elapsedSeconds: r.elapsedSeconds,
    targetSet: r.targetAddr !== null,
    errorReason: r.errorReason,
    actions: r.actionsExecuted,
    classification: r.classification,
    targetStatusListSet: r.targetStatusListSet,
    tlsAlert: null,
    tlsCompleted: null,
  };
}

function explainFacts(r: LbErrorFacts, log: 'alb' | 'clb'): ErrorExplanation | null {
  const code = r.elbStatusCode;
  if (code === null && log === 'clb') return explainClbConnection(r);
  if (code === null || (code < 400 && code !== 0)) {
    return null;
  }
  const t = r.word;
  const reason = explainErrorReason(r.errorReason);
  const reasonCause = reason !== null ? [`error_reason ${r.errorReason}: ${reason}`] : [];
  const matches = candidateCauses(matchCauses(lineFacts(r, log)));
  if (matches.length === 0) {
    const meaning = r.targetStatusCode !== null ? `the load balancer answered ${code} although the ${t} answered ${r.targetStatusCode}` : `the load balancer answered ${code} itself (no ${t} response)`;
    return { meaning, likelyCauses: reasonCause, origin: 'load-balancer', pattern: `${code}-lb`, causes: [], open: null };
  }
  const top = matches[0]!.cause;
  const pattern = groupName(top, code);
  const group = GROUPS[pattern];
  const origin = top.id === 'target-error' ? 'target' : 'load-balancer';
  let meaning: string;
  if (group) meaning = group.proves.replaceAll('{t}', t);
  else if (top.id === 'target-error') meaning = `the ${t} answered ${code} itself; the load balancer passed it on`;
  else if (top.id === 'fixed-response') meaning = `a listener rule answered ${code} with a fixed response (no ${t} involved)`;
  else meaning = `the load balancer answered ${code === 0 ? '000' : code} itself: ${top.title}`;
  const likely = matches.map((m) => causeLine(m.cause, t));
  if (top.id === 'target-error' && (code === 502 || code === 503 || code === 504)) {
    likely[0] = `a proxy or server on the ${t} (nginx, envoy, a framework's gateway) reports that its own upstream failed: look at the ${t}'s logs for this request`;
  }
  if (code === 400 && r.classification !== null) likely.push(`desync mitigation classified it ${r.classification}${r.classificationReason !== null ? ` (${r.classificationReason})` : ''}`);
  return {
    meaning,
    likelyCauses: [...reasonCause, ...likely],
    origin,
    pattern,
    causes: matches.map((m) => m.cause.id),
    open: group?.open?.replaceAll('{t}', t) ?? null,
  };
}

/**
 * A Classic LB TCP/SSL listener's line (no status): explained when the catalogue has a cause for
 * it (processing times -1: the connection was never passed to an instance, or ended first).
 */
function explainClbConnection(r: LbErrorFacts): ErrorExplanation | null {
  const matches = candidateCauses(matchCauses(lineFacts(r, 'clb')));
  if (matches.length === 0) return null;
  const top = matches[0]!.cause;
  const pattern = groupName(top, null);
  const group = GROUPS[pattern];
  return {
    meaning: (group?.proves ?? top.title).replaceAll('{t}', r.word),
    likelyCauses: matches.map((m) => causeLine(m.cause, r.word)),
    origin: 'load-balancer',
    pattern,
    causes: matches.map((m) => m.cause.id),
    open: group?.open?.replaceAll('{t}', r.word) ?? null,
  };
}

function albFacts(r: AlbLogRecord): LbErrorFacts {
  return {
    elbStatusCode: r.elbStatusCode,
    targetStatusCode: r.targetStatusCode,
    targetAddr: r.targetAddr,
    requestProcessingSeconds: r.requestProcessingSeconds,
    targetProcessingSeconds: r.targetProcessingSeconds,
    responseProcessingSeconds: r.responseProcessingSeconds,
    errorReason: r.errorReason,
    actionsExecuted: r.actionsExecuted,
    classification: r.classification,
    classificationReason: r.classificationReason,
    elapsedSeconds: r.requestCreationTime !== null ? r.time - r.requestCreationTime : null,
    targetStatusListSet: r.fieldCount >= 27 ? r.targetStatusCodeList.some((c) => c !== null) : null,
    type: r.type,
    word: 'target',
  };
}

function clbFacts(r: ClbLogRecord): LbErrorFacts {
  return {
    elbStatusCode: r.elbStatusCode,
    targetStatusCode: r.backendStatusCode,
    targetAddr: r.backendAddr,
    requestProcessingSeconds: r.requestProcessingSeconds,
    targetProcessingSeconds: r.backendProcessingSeconds,
    responseProcessingSeconds: r.responseProcessingSeconds,
    errorReason: null,
    actionsExecuted: [],
    classification: null,
    classificationReason: null,
    elapsedSeconds: null,
    targetStatusListSet: null,
    type: null,
    word: 'instance',
  };
}

/** The catalogue's view of an ALB line (what its signatures are matched against). */
export function albLineFacts(r: AlbLogRecord): LogLineFacts {
  return lineFacts(albFacts(r), 'alb');
}

/** The catalogue's view of a Classic LB line. */
export function clbLineFacts(r: ClbLogRecord): LogLineFacts {
  return lineFacts(clbFacts(r), 'clb');
}

/** The catalogue's view of an NLB TLS log line (an alert from the client, a handshake that did not complete). */
export function nlbLineFacts(r: NlbLogRecord): LogLineFacts {
  return {
    log: 'nlb',
    type: r.type,
    elbStatus: null,
    targetStatus: null,
    times: [null, null, null],
    elapsedSeconds: null,
    targetSet: false,
    errorReason: null,
    actions: [],
    classification: null,
    targetStatusListSet: null,
    tlsAlert: r.incomingTlsAlert,
    tlsCompleted: r.tlsCipher !== null,
  };
}

/**
 * Plain-words meaning of an ALB access log entry's error status (4xx/5xx/000): who answered, what
 * happened and the likely causes. null for successful entries.
 */
export function explainAlbError(r: AlbLogRecord): ErrorExplanation | null {
  return explainFacts(albFacts(r), 'alb');
}

/** The same for a Classic Load Balancer entry (HTTP listeners; TCP/SSL listeners log no status). */
export function explainClbError(r: ClbLogRecord): ErrorExplanation | null {
  return explainFacts(clbFacts(r), 'clb');
}

/** What a TLS alert a client sends to the listener usually means (RFC 8446 §6.2 names; the common ones). */
export const CLIENT_TLS_ALERTS: Readonly<Record<number, string>> = {
  40: 'no acceptable set of parameters: no common cipher or group with the listener\'s security policy',
  42: 'the client rejected the certificate',
  43: 'the client does not support the certificate\'s type (RSA / ECDSA)',
  44: 'the client found the certificate revoked',
  45: 'the client found the certificate expired (or its clock is wrong)',
  46: 'the client could not use the certificate: often a name or chain it cannot verify',
  48: 'the client does not trust the certificate\'s issuer: the chain is incomplete or from a private CA it lacks',
  70: 'no TLS version in common with the listener\'s security policy',
  71: 'the listener\'s security policy offers ciphers weaker than the client accepts',
  80: 'the client failed on its own side',
  86: 'the client retried with a lower TLS version and the listener refused the downgrade',
  90: 'the client cancelled the handshake',
  109: 'the handshake lacked an extension the client requires',
  112: 'the SNI name the client sent is not one the listener serves',
  116: 'the listener asked for a client certificate the client does not have',
  120: 'no ALPN protocol in common',
};

/**
 * Plain-words meaning of an NLB TLS access-log entry whose handshake failed: an alert from the
 * client, or a negotiation that did not complete (tls_cipher -). null for a completed handshake.
 */
export function explainNlbTls(r: NlbLogRecord): (ErrorExplanation & { detail: string }) | null {
  const facts = nlbLineFacts(r);
  if (facts.tlsAlert === null && facts.tlsCompleted !== false) return null;
  const matches = candidateCauses(matchCauses(facts));
  if (matches.length === 0) return null;
  const top = matches[0]!.cause;
  const pattern = groupName(top, null);
  const group = GROUPS[pattern];
  let detail: string;
  if (r.incomingTlsAlert !== null) {
    const what = CLIENT_TLS_ALERTS[r.incomingTlsAlert];
    detail = `alert ${r.incomingTlsAlert}${r.incomingTlsAlertName ? ` ${r.incomingTlsAlertName}` : ''}${what ? `: ${what}` : ''}`;
  } else detail = r.chosenCertArn === null ? 'no valid ClientHello arrived (no certificate chosen)' : 'a ClientHello arrived (a certificate was chosen), the negotiation went no further';
  return { meaning: group?.proves ?? top.title, likelyCauses: matches.map((m) => causeLine(m.cause)), origin: 'client', pattern, causes: matches.map((m) => m.cause.id), open: group?.open ?? null, detail };
}
