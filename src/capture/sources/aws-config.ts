/**
 * AWS settings shared by every SDK client mirrorlens makes (S3, CloudWatch Logs, EC2, ELBv2), and
 * the one-line messages for what goes wrong talking to AWS.
 *
 * Credentials: the SDK's standard chain (environment, shared config/credentials files and SSO,
 * web identity, container and instance roles). Region: `--region`, else AWS_REGION /
 * AWS_DEFAULT_REGION / the profile's, as the SDK resolves it. Endpoints: AWS_ENDPOINT_URL_<SERVICE>
 * or AWS_ENDPOINT_URL (the SDK's own settings, https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html);
 * for S3 a configured endpoint also turns on path-style addressing, which S3-compatible stores
 * (MinIO, Ceph, local test servers) need.
 */
import { ErrorCode, MirrorlensError } from '../../wire/errors.js';

/** Service ids as used in AWS_ENDPOINT_URL_<ID> (https://docs.aws.amazon.com/sdkref/latest/guide/ss-endpoints-table.html). */
export type AwsService = 'S3' | 'CLOUDWATCH_LOGS' | 'EC2' | 'ELASTIC_LOAD_BALANCING_V2';

/** The endpoint configured for a service in the environment, or undefined for AWS's own. */
export function configuredEndpoint(service: AwsService, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() === 'true') return undefined;
  const v = env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL;
  return v ? v : undefined;
}

/** The region from the environment (the SDK also reads the profile's region from ~/.aws/config). */
export function envRegion(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
}

/**
 * Client settings common to all services. The SDK prints a Node.js version notice on the first
 * client it makes on Node 20; mirrorlens supports Node 20, so that notice is switched off here.
 */
export function baseClientConfig(service: AwsService, opts: { region?: string | undefined; env?: NodeJS.ProcessEnv | undefined } = {}): {
  region?: string;
  endpoint?: string;
  maxAttempts: number;
} {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const env = opts.env ?? process.env;
  const out: { region?: string; endpoint?: string; maxAttempts: number } = { maxAttempts: 3 };
  const region = opts.region ?? envRegion(env);
  if (region !== undefined) out.region = region;
  const endpoint = configuredEndpoint(service, env);
  if (endpoint !== undefined) out.endpoint = endpoint;
  return out;
}

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
};

function networkReason(e: SdkError): string | null {
  for (let cur: unknown = e, depth = 0; cur !== null && typeof cur === 'object' && depth < 5; cur = (cur as SdkError).cause, depth++) {
    const c = cur as SdkError;
    if (typeof c.code === 'string' && NETWORK_CODES[c.code] !== undefined) return NETWORK_CODES[c.code]!;
    if (c.name === 'TimeoutError') return 'timed out';
  }
  return null;
}

/**
 * One clear line for an error from the AWS SDK. `what` names the object/URL (it becomes the
 * location), `action` the API call (for "access denied" messages), `endpoint` where the call went.
 */
export function awsError(e: unknown, what: string, action: string, endpoint?: string): MirrorlensError {
  if (e instanceof MirrorlensError) return e;
  const err = (e ?? {}) as SdkError;
  const name = err.name ?? err.Code ?? 'Error';
  const status = err.$metadata?.httpStatusCode;
  const firstLine = (err.message ?? String(e)).split('\n')[0]!.trim();
  let msg: string;
  const net = networkReason(err);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(firstLine)) {
    msg = 'no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or task role is available)';
  } else if (/Region is missing/i.test(firstLine)) {
    msg = 'no AWS region configured (set AWS_REGION or pass --region)';
  } else if (net !== null) {
    msg = `cannot reach ${endpoint ?? 'the AWS endpoint'} (${net}) during ${action}`;
  } else if (name === 'ExpiredToken' || name === 'ExpiredTokenException' || name === 'RequestExpired') {
    msg = `the AWS credentials have expired (${name}); refresh them (aws sso login, or new keys)`;
  } else if (name === 'NoSuchBucket') {
    msg = 'no such bucket';
  } else if (name === 'NoSuchKey') {
    msg = 'no such object';
  } else if (name === 'InvalidAccessKeyId') {
    msg = 'the AWS access key id is not known to this endpoint (InvalidAccessKeyId)';
  } else if (name === 'SignatureDoesNotMatch') {
    msg = 'the AWS secret access key does not match the access key id (SignatureDoesNotMatch)';
  } else if (status === 403 || /AccessDenied|UnauthorizedOperation|Forbidden/.test(name)) {
    msg = `access denied (${name}): the credentials in use may not call ${action}`;
  } else if (name === 'ResourceNotFoundException') {
    msg = `not found (${firstLine})`;
  } else if (status === 404 || name === 'NotFound') {
    msg = 'not found';
  } else if (name === 'PermanentRedirect' || status === 301) {
    msg = 'the bucket is in another region and the endpoint did not say which';
  } else {
    msg = `${action} failed: ${name}${firstLine && firstLine !== name ? `: ${firstLine}` : ''}${status ? ` (HTTP ${status})` : ''}`;
  }
  return new MirrorlensError(ErrorCode.Aws, msg, { file: what }, { cause: e });
}
