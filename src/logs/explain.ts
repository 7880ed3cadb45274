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

export interface ErrorExplanation {
  /** One sentence: who answered and what happened. */
  meaning: string;
  /** Causes to check, most likely first, each with what to change. */
  likelyCauses: string[];
  /** `load-balancer` when it generated the status itself, `target` when it passed the target's on. */
  origin: 'load-balancer' | 'target';
  /** Short machine name of the pattern matched (`502-target-closed`, `504-idle-timeout`, ...). */
  pattern: string;
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
  errorReason: string | null;
  actionsExecuted: string[];
  classification: string | null;
  classificationReason: string | null;
  lambda: boolean;
  word: 'target' | 'instance';
}

const KEEPALIVE_RACE =
  'the target closed an idle kept-alive connection (TCP FIN or RST) just as the load balancer sent this request on it: the target\'s keep-alive timeout is shorter than the load balancer idle timeout (60 s by default); set the application\'s keep-alive timeout above the idle timeout';
const MIDDLEBOX_RESET =
  'a device between load balancer and target dropped the idle connection and answered with a TCP RST (an NLB in the path resets flows idle for 350 s; NAT gateways and firewalls have their own idle timers): enable TCP keepalive on the pooled connections with an interval below that timeout';

function fx(meaning: string, likelyCauses: string[], origin: ErrorExplanation['origin'], pattern: string): ErrorExplanation {
  return { meaning, likelyCauses, origin, pattern };
}

function explainFacts(r: LbErrorFacts): ErrorExplanation | null {
  const code = r.elbStatusCode;
  if (code === null || (code < 400 && code !== 0)) {
    return null;
  }
  const t = r.word;
  const reason = explainErrorReason(r.errorReason);
  const reasonCause = reason !== null ? [`error_reason ${r.errorReason}: ${reason}`] : [];
  // The target produced the status and the load balancer passed it on.
  if (r.targetStatusCode !== null && r.targetStatusCode === code) {
    const proxy = code === 502 || code === 503 || code === 504;
    return fx(
      `the ${t} answered ${code} itself; the load balancer passed it on`,
      proxy
        ? [`a proxy or server on the ${t} (nginx, envoy, a framework's gateway) reports that its own upstream failed: look at the ${t}'s logs for this request`]
        : [`the application on the ${t} returned ${code}: look at its logs for this request (match the trace id)`],
      'target',
      `${code}-from-${t}`,
    );
  }
  if (r.actionsExecuted.includes('fixed-response')) {
    return fx(`a listener rule answered ${code} with a fixed response (no ${t} involved)`, ['the rule is configured that way; check the listener rules'], 'load-balancer', `${code}-fixed-response`);
  }
  const noDispatch = r.requestProcessingSeconds === null && r.targetProcessingSeconds === null && r.responseProcessingSeconds === null;
  const sentNoAnswer = r.requestProcessingSeconds !== null && r.targetProcessingSeconds === null;
  switch (code) {
    case 502:
      if (r.lambda || (r.errorReason !== null && r.errorReason.startsWith('Lambda'))) {
        return fx(
          'the load balancer answered 502 itself: the Lambda target failed',
          [...reasonCause, 'the response body is larger than 1 MB, the function did not answer before its timeout, or it raised an error or was throttled'],
          'load-balancer',
          '502-lambda',
        );
      }
      if (noDispatch) {
        return fx(
          `the load balancer answered 502 itself: it could not open a connection to the ${t}`,
          [
            `the ${t} refused the connection (TCP RST to the SYN): nothing listens on the port, or a host firewall rejects it`,
            `an ICMP "destination unreachable" came back when connecting (the ${t} is gone or unroutable)`,
            `the TLS handshake with the ${t} failed or took longer than 10 s (HTTPS target groups)`,
            `less likely from these fields alone: the ${t} closed a reused kept-alive connection as the request went out (AWS does not document which times it logs then; the packets tell)`,
          ],
          'load-balancer',
          '502-connect-failed',
        );
      }
      if (sentNoAnswer) {
        return fx(
          `the load balancer answered 502 itself: the ${t} connection failed or closed before a response`,
          [
            KEEPALIVE_RACE,
            MIDDLEBOX_RESET,
            `the ${t} process crashed, restarted or was killed while handling the request`,
            `the ${t} was deregistered and the deregistration delay ran out while the request was in flight`,
          ],
          'load-balancer',
          '502-target-closed',
        );
      }
      return fx(
        `the load balancer answered 502 itself: the ${t}'s response was not usable`,
        [
          `the response is malformed or has invalid HTTP headers`,
          `the response headers exceed 32 KB`,
          `the ${t} closed the connection (FIN or RST) while sending the response`,
        ],
        'load-balancer',
        '502-bad-response',
      );
    case 503:
      return fx(
        `the load balancer answered 503 itself: there was no ${t} to send the request to`,
        [`the target group has no registered ${t}s (or, for a Classic LB, no healthy ones): check registration and health checks`, 'a listener rule forwards to an empty target group'],
        'load-balancer',
        '503-no-targets',
      );
    case 504:
      if (r.lambda) {
        return fx('the load balancer answered 504 itself: the Lambda service did not answer before the connection timeout', reasonCause, 'load-balancer', '504-lambda');
      }
      if (noDispatch || r.targetAddr === null) {
        return fx(
          `the load balancer answered 504 itself: it could not establish a connection to the ${t} within 10 s`,
          [
            `a security group or network ACL drops the load balancer's SYN to the ${t} (no RST comes back, so it times out)`,
            `the network ACL of the ${t}'s subnet does not allow the replies back to the load balancer on ephemeral ports 1024-65535`,
            `the ${t} is overloaded and not accepting connections (listen backlog full)`,
          ],
          'load-balancer',
          '504-connect-timeout',
        );
      }
      return fx(
        `the load balancer answered 504 itself: the ${t} did not answer within the idle timeout`,
        [
          `the request takes longer than the load balancer idle timeout (60 s by default): speed it up or raise the idle timeout`,
          `the ${t} sent a Content-Length larger than the body and the load balancer waited for the missing bytes`,
          `the network ACL of the ${t}'s subnet does not allow the replies back to the load balancer on ephemeral ports 1024-65535`,
        ],
        'load-balancer',
        '504-idle-timeout',
      );
    case 460:
      return fx(
        'the client closed the connection before the load balancer could answer (status 460 is never sent; it only marks the log entry)',
        [`the client's timeout is shorter than the ${t}'s processing time: raise the client timeout or make the request faster`],
        'load-balancer',
        '460-client-closed',
      );
    case 463:
      return fx('the load balancer rejected the request: its X-Forwarded-For header lists more than 30 IP addresses', ['a proxy chain (or a loop) keeps appending to X-Forwarded-For'], 'load-balancer', '463-xff-too-long');
    case 464:
      return fx(
        'the load balancer rejected the request: its protocol does not match the target group protocol version',
        ['an HTTP/1.1 request to a gRPC or HTTP/2 target group, a gRPC request to an HTTP/1.1 target group, or a non-POST HTTP/2 request to a gRPC target group'],
        'load-balancer',
        '464-protocol-mismatch',
      );
    case 561:
      return fx('the load balancer answered 561: the identity provider returned an error during authentication', [...reasonCause, 'see error_reason and the IdP configuration of the authenticate rule'], 'load-balancer', '561-idp-error');
    case 400:
      return fx(
        'the load balancer rejected the request as malformed (400)',
        [
          'the request does not meet the HTTP specification',
          'a request line or single header is over 16 KB, or all headers together over 64 KB',
          'the client closed the connection before sending the whole body',
          ...(r.classification !== null ? [`desync mitigation classified it ${r.classification}${r.classificationReason !== null ? ` (${r.classificationReason})` : ''}`] : []),
        ],
        'load-balancer',
        '400-bad-request',
      );
    case 401:
      return fx('the authenticate action denied the request (401)', [...reasonCause, 'OnUnauthenticatedRequest is deny, or the IdP denied access, or the claims are too large'], 'load-balancer', '401-unauthenticated');
    case 403:
      return fx('the load balancer refused the request (403): an AWS WAF web ACL blocked it', ['check the WAF web ACL rules and logs'], 'load-balancer', '403-waf');
    case 405:
      return fx('the load balancer refused the request method (405): TRACE is not supported', [], 'load-balancer', '405-method');
    case 408:
      return fx(
        'the load balancer closed the client connection (408): the client sent no data before the idle timeout',
        ['the client opened a connection and stayed silent longer than the idle timeout (TCP keepalives do not count)'],
        'load-balancer',
        '408-client-idle',
      );
    case 413:
      return fx('the request body is larger than 1 MB for a Lambda target (413)', [], 'load-balancer', '413-too-large');
    case 414:
      return fx('the request URL or query string is too long (414)', [], 'load-balancer', '414-uri-too-long');
    case 500:
      return fx(
        'the load balancer hit an internal error (500)',
        [...reasonCause, 'an AWS WAF web ACL failed to run', 'the authenticate action could not reach the IdP token or user info endpoint (DNS, security group or network ACL egress, no route to the internet)'],
        'load-balancer',
        '500-internal',
      );
    case 501:
      return fx('the load balancer does not support the request\'s Transfer-Encoding (501; only chunked and identity are)', [], 'load-balancer', '501-transfer-encoding');
    case 505:
      return fx('the load balancer rejected the HTTP version (505), e.g. an HTTP/2 request on an HTTP/1 connection', [], 'load-balancer', '505-version');
    case 0:
      return fx(
        'the load balancer closed an HTTP/2 connection with GOAWAY (status 000)',
        ['a compressed header exceeded 8 KB, or the connection served its 10,000th request'],
        'load-balancer',
        '000-goaway',
      );
    default:
      if (r.targetStatusCode !== null) {
        return fx(`the load balancer answered ${code} although the ${t} answered ${r.targetStatusCode}`, reasonCause, 'load-balancer', `${code}-lb`);
      }
      return fx(`the load balancer answered ${code} itself (no ${t} response)`, reasonCause, 'load-balancer', `${code}-lb`);
  }
}

/**
 * Plain-words meaning of an ALB access log entry's error status (4xx/5xx/000): who answered, what
 * happened and the likely causes. null for successful entries.
 */
export function explainAlbError(r: AlbLogRecord): ErrorExplanation | null {
  return explainFacts({
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
    lambda: r.errorReason !== null && r.errorReason.startsWith('Lambda'),
    word: 'target',
  });
}

/** The same for a Classic Load Balancer entry (HTTP listeners; TCP/SSL listeners log no status). */
export function explainClbError(r: ClbLogRecord): ErrorExplanation | null {
  return explainFacts({
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
    lambda: false,
    word: 'instance',
  });
}
