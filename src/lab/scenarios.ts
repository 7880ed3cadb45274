/**
 * The lab's scenarios: each reproduces one load-balancer failure (or, for `load`, none) with real
 * parts, states the verdict it expects (issue 10's list) and the facts the lab checks in what it
 * captured. Timers are scaled so a scenario takes seconds: the NLB's 350 s idle timeout becomes
 * 3 s, the ALB's 10 s connect timeout 2 s, its 60 s idle timeout 30 s (2 s for slow-target).
 */
import type { FindingKind } from '../diagnose/finding.js';

export interface ClientRequest {
  path: string;
  /** Milliseconds to wait after the previous request finished (0: at once). */
  waitMs: number;
  /** Wait first until the target has closed a connection (its log shows it): the FIN is on its way. */
  afterTargetClose?: boolean;
  /** The client gives up after this many seconds (curl --max-time). */
  clientTimeoutSeconds?: number;
}

/** What became of a request a GOAWAY cut: sent again and answered, never sent again, sent again and failed. */
export type GoawayFate = 'retried' | 'not-retried' | 'retry-failed';

export interface LoadParams {
  /** TLS connections opened by the client. */
  connections: number;
  /** Requests in total, spread evenly over the connections (keep-alive). */
  requests: number;
  /** Connections in flight at once. */
  concurrency: number;
}

export interface Scenario {
  name: string;
  summary: string;
  /** The verdict analyze must give for the failing request (null: no finding expected). */
  expectKind: FindingKind | null;
  /** Status the ALB gives the failing request (200 for scenarios without failure). */
  expectStatus: number;
  /** target_status_code the ALB logs for it (default: `-` for the ALB's own 4xx/5xx). */
  expectTargetStatus?: number;
  /** Status curl sees, when it differs from the logged one (short-body: the target's head was already sent). */
  expectClientStatus?: number;
  /** Path of the failing request. */
  expectPath: string | null;
  /** Who sends the RST the ALB sees, when there is one. */
  expectResetBy: 'nlb' | 'target' | null;
  nlbIdleSeconds: number;
  albIdleSeconds: number;
  readTimeoutSeconds: number;
  connectTimeoutSeconds: number;
  target: {
    listen: boolean;
    keepAliveTimeoutMs: number;
    slowMs?: number;
    bodyBytes?: number;
    /** `/bighead*` answers with this many bytes of response headers. */
    bigHeaderBytes?: number;
    /** `/short*` announces this many body bytes more than it sends, then waits. */
    shortBodyMissing?: number;
    /** Speak HTTPS (the lab's certificate) with these TLS versions. */
    tls?: { minVersion: 'TLSv1.2' | 'TLSv1.3'; maxVersion: 'TLSv1.2' | 'TLSv1.3' };
  };
  /**
   * `parallel`: every request at once in one curl (--parallel: multiplexed on one HTTP/2 connection);
   * `noRetry`: instead, Node's http2 client, which does not send again what a GOAWAY refused.
   */
  client: { http2: boolean; tls12Cipher?: string; parallel?: boolean; noRetry?: boolean };
  requests: ClientRequest[];
  synDrop?: boolean;
  /** The ALB speaks HTTPS to the target with these TLS versions (an HTTPS target group). */
  upstreamTlsProtocols?: string;
  /** icmp-unreachable: a router between ALB and target answers the SYNs with this ICMP error (iptables REJECT --reject-with). */
  icmpReject?: 'icmp-host-unreachable' | 'icmp-port-unreachable' | 'icmp-admin-prohibited';
  /** nacl-return: the target subnet's network ACL drops the target's SYN-ACKs on the way out (not mirrored; REJECT in its flow log). */
  naclReturn?: boolean;
  /** keepalive-race: hold the target's FIN this long on its way to the ALB. */
  holdFinMs?: number;
  /** deregistered: this long after the failing request went out, the ALB drops its connections to the target (ss -K). */
  deregisterAfterMs?: number;
  load?: LoadParams;
  /** h2-goaway: the ALB closes a client connection after this many requests (nginx keepalive_requests: GOAWAY on HTTP/2). */
  albKeepaliveRequests?: number;
  /** h2-goaway: the client's uplink to the ALB shaped to this rate (kbit/s), so its streams leave before the GOAWAY can come back. */
  clientUplinkKbit?: number;
  /** h2-goaway: the requests the GOAWAY cuts (above its last-stream-id), each sent again by curl on a new connection. */
  goaway?: { lastStreamId: number; cut: Record<string, GoawayFate> };
  /** h2-goaway-retry-failed: the one other finding at error or warning, the failed retry's own cause. */
  goawayAlso?: FindingKind;
}

/** ALB idle timeout 30 s scaled; NLB idle 3 s scaled from 350 s. */
const BASE = {
  nlbIdleSeconds: 3,
  albIdleSeconds: 30,
  readTimeoutSeconds: 30,
  connectTimeoutSeconds: 2,
  synDrop: false,
};

const IDLE_RESET_REQUESTS: ClientRequest[] = [
  { path: '/api/cart', waitMs: 0 },
  // idle longer than the NLB's (scaled) 3 s: the pooled ALB→NLB connection expires in conntrack.
  { path: '/api/checkout', waitMs: 4500 },
];

/**
 * keepalive-race timing. Node 20 closes an idle keep-alive socket about 1 s after
 * `keepAliveTimeout` (measured: 2.05-2.16 s for 1000 ms). The target's FIN (and the RST that
 * follows it) are held on the NLB → ALB hop until 3.3 s after the response (the ~1150-byte
 * response charges the hold class); the client sends its next request as soon as the target has
 * closed (its log says so; curl is already started and waits for its URL on stdin), which
 * reaches the NLB hop 0.05-0.4 s later (measured, the higher figure on a loaded machine): while
 * the FIN is in flight.
 */
export const RACE = { keepAliveMs: 1000, holdMs: 3300, bodyBytes: 900 };

/**
 * h2-goaway and h2-goaway-lost: 5 requests at once on one HTTP/2 connection; the ALB closes client
 * connections after 2 requests (nginx keepalive_requests: GOAWAY with last-stream-id 3), so streams
 * 5, 7 and 9 (the last three) are cut.
 */
const GOAWAY = {
  ...BASE,
  expectKind: 'http2-goaway' as const,
  expectStatus: 200,
  expectPath: '/goaway/c',
  expectResetBy: null,
  nlbIdleSeconds: 60,
  target: { listen: true, keepAliveTimeoutMs: 600_000 },
  requests: ['a', 'b', 'c', 'd', 'e'].map((x) => ({ path: `/goaway/${x}`, waitMs: 0 })),
  albKeepaliveRequests: 2,
  clientUplinkKbit: 48,
};

export const SCENARIOS: readonly Scenario[] = [
  {
    ...BASE,
    name: 'idle-reset',
    summary: 'pooled ALB→NLB→target connection idle beyond the NLB idle timeout; the next request gets an RST from the NLB → 502',
    expectKind: 'idle-timeout-reset',
    expectStatus: 502,
    expectPath: '/api/checkout',
    expectResetBy: 'nlb',
    target: { listen: true, keepAliveTimeoutMs: 600_000 },
    client: { http2: false },
    requests: IDLE_RESET_REQUESTS,
  },
  {
    ...BASE,
    name: 'keepalive-race',
    summary: "target keep-alive (1 s) shorter than the ALB's pool idle time: the target's FIN crosses the next request → 502",
    expectKind: 'keepalive-race',
    expectStatus: 502,
    expectPath: '/api/race',
    expectResetBy: 'target',
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: RACE.keepAliveMs, bodyBytes: RACE.bodyBytes },
    client: { http2: false },
    requests: [
      { path: '/api/first', waitMs: 0 },
      { path: '/api/race', waitMs: 0, afterTargetClose: true },
    ],
    holdFinMs: RACE.holdMs,
  },
  {
    ...BASE,
    name: 'target-crash',
    summary: 'the target resets the connection while the request is outstanding → 502',
    expectKind: 'target-reset',
    expectStatus: 502,
    expectPath: '/crash/order',
    expectResetBy: 'target',
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000 },
    client: { http2: false },
    requests: [
      { path: '/api/cart', waitMs: 0 },
      { path: '/crash/order', waitMs: 200 },
    ],
  },
  {
    ...BASE,
    name: 'target-close',
    summary: 'the target closes the connection (FIN) with the request outstanding, without answering → 502',
    expectKind: 'target-closed-before-response',
    expectStatus: 502,
    expectPath: '/close/order',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000 },
    client: { http2: false },
    requests: [
      { path: '/api/cart', waitMs: 0 },
      { path: '/close/order', waitMs: 200 },
    ],
  },
  {
    ...BASE,
    name: 'refused',
    summary: 'nothing listens on the target port: the SYN is answered by an RST → 502',
    expectKind: 'target-connection-refused',
    expectStatus: 502,
    expectPath: '/api/cart',
    expectResetBy: 'target',
    nlbIdleSeconds: 60,
    target: { listen: false, keepAliveTimeoutMs: 600_000 },
    client: { http2: false },
    requests: [{ path: '/api/cart', waitMs: 0 }],
  },
  {
    ...BASE,
    name: 'syn-drop',
    summary: 'a firewall in front of the target drops SYNs: no connection before the (scaled) 2 s connect timeout → 504; flow log REJECT lines',
    // With the flow log given, the REJECT lines name the cause (security group / NACL).
    expectKind: 'flow-log-reject',
    expectStatus: 504,
    expectPath: '/api/cart',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000 },
    client: { http2: false },
    requests: [{ path: '/api/cart', waitMs: 0 }],
    synDrop: true,
  },
  {
    ...BASE,
    name: 'slow-target',
    summary: 'the target answers after 4 s, the ALB gives up after its (scaled) 2 s idle timeout → 504',
    expectKind: 'target-response-timeout',
    expectStatus: 504,
    expectPath: '/slow/report',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    readTimeoutSeconds: 2,
    target: { listen: true, keepAliveTimeoutMs: 600_000, slowMs: 4000 },
    client: { http2: false },
    requests: [
      { path: '/api/cart', waitMs: 0 },
      { path: '/slow/report', waitMs: 100 },
    ],
  },
  {
    ...BASE,
    name: 'client-closed',
    summary: 'the client gives up (1 s) before the slow target (4 s) answers and closes its connection → ALB logs 460',
    expectKind: 'client-closed',
    expectStatus: 460,
    expectPath: '/slow/export',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000, slowMs: 4000 },
    client: { http2: false },
    requests: [
      { path: '/api/cart', waitMs: 0 },
      { path: '/slow/export', waitMs: 100, clientTimeoutSeconds: 1 },
    ],
  },
  {
    ...BASE,
    name: 'nacl-return',
    summary: "the target subnet's network ACL has no outbound rule for the ephemeral ports: the target's SYN-ACKs never leave (not mirrored; REJECT in the target ENI's flow log) → 504 after the (scaled) 2 s connect timeout",
    expectKind: 'return-path-blocked',
    expectStatus: 504,
    expectPath: '/api/cart',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000 },
    client: { http2: false },
    requests: [{ path: '/api/cart', waitMs: 0 }],
    naclReturn: true,
  },
  {
    ...BASE,
    name: 'icmp-unreachable',
    summary: 'the NLB hop answers the SYNs to the target with ICMP host unreachable (a target gone from the network): the connect fails at once → 502',
    expectKind: 'target-unreachable',
    expectStatus: 502,
    expectPath: '/api/cart',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000 },
    client: { http2: false },
    requests: [{ path: '/api/cart', waitMs: 0 }],
    icmpReject: 'icmp-host-unreachable',
  },
  {
    ...BASE,
    name: 'target-tls',
    summary: 'an HTTPS target group whose target accepts TLS 1.3 only while the ALB offers TLS 1.2: the target answers the ClientHello with a protocol_version alert → 502',
    expectKind: 'tls-handshake-failure',
    expectStatus: 502,
    expectPath: '/api/cart',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000, tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } },
    upstreamTlsProtocols: 'TLSv1.2',
    client: { http2: false },
    requests: [{ path: '/api/cart', waitMs: 0 }],
  },
  {
    ...BASE,
    name: 'header-too-large',
    summary: "the target answers with 40 KB of response headers, over the ALB's 32 KB limit (nginx proxy_buffer_size 32k) → 502",
    expectKind: 'response-headers-too-large',
    expectStatus: 502,
    expectPath: '/bighead/profile',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000, bigHeaderBytes: 40_000 },
    client: { http2: false },
    requests: [
      { path: '/api/cart', waitMs: 0 },
      { path: '/bighead/profile', waitMs: 100 },
    ],
  },
  {
    ...BASE,
    name: 'short-body',
    summary: 'the target announces Content-Length 1000, sends 500 bytes and waits; the ALB gives up after its (scaled) 2 s idle timeout → 504 (target status 200)',
    expectKind: 'content-length-mismatch',
    expectStatus: 504,
    expectTargetStatus: 200,
    expectClientStatus: 200,
    expectPath: '/short/report',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    readTimeoutSeconds: 2,
    target: { listen: true, keepAliveTimeoutMs: 600_000, shortBodyMissing: 500 },
    client: { http2: false },
    requests: [
      { path: '/api/cart', waitMs: 0 },
      { path: '/short/report', waitMs: 100 },
    ],
  },
  {
    ...BASE,
    name: 'deregistered',
    summary: 'the target takes 4 s; 1 s into the request the ALB drops its connections to the target (its deregistration delay ran out: ss -K) → 502',
    expectKind: 'deregistered-in-flight',
    expectStatus: 502,
    expectPath: '/slow/upload',
    expectResetBy: null,
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000, slowMs: 4000 },
    client: { http2: false },
    requests: [
      { path: '/api/cart', waitMs: 0 },
      { path: '/slow/upload', waitMs: 100 },
    ],
    deregisterAfterMs: 1000,
  },
  {
    ...GOAWAY,
    name: 'h2-goaway',
    summary: 'curl multiplexes 5 requests on one HTTP/2 connection; the ALB (nginx keepalive_requests 2) answers 2, then GOAWAY (last-stream-id 3, NO_ERROR); curl sends the other 3 again on new connections, all answered → one info finding (nothing lost), no error',
    client: { http2: true, parallel: true },
    goaway: { lastStreamId: 3, cut: { '/goaway/c': 'retried', '/goaway/d': 'retried', '/goaway/e': 'retried' } },
  },
  {
    ...GOAWAY,
    name: 'h2-goaway-lost',
    summary: "h2-goaway with a client that does not retry (Node's http2 client): the 3 requests the GOAWAY cut fail and are never sent again → one error finding naming them",
    client: { http2: true, parallel: true, noRetry: true },
    goaway: { lastStreamId: 3, cut: { '/goaway/c': 'not-retried', '/goaway/d': 'not-retried', '/goaway/e': 'not-retried' } },
  },
  {
    ...GOAWAY,
    name: 'h2-goaway-retry-failed',
    summary: 'h2-goaway where one cut request fails again on retry: curl sends /crash/c again on a new connection, the target resets it → 502; one error finding for the GOAWAY (its retry failed) and the reset as its own incident',
    expectPath: '/crash/c',
    requests: ['/goaway/a', '/goaway/b', '/crash/c', '/goaway/d', '/goaway/e'].map((path) => ({ path, waitMs: 0 })),
    client: { http2: true, parallel: true },
    goaway: { lastStreamId: 3, cut: { '/crash/c': 'retry-failed', '/goaway/d': 'retried', '/goaway/e': 'retried' } },
    // The failed retry is an incident of its own: the target's reset (502).
    goawayAlso: 'target-reset',
  },
  {
    ...BASE,
    name: 'h2',
    summary: 'idle-reset with the client on HTTP/2 (ALPN h2): the 502 is an h2 response on the client side',
    expectKind: 'idle-timeout-reset',
    expectStatus: 502,
    expectPath: '/api/checkout',
    expectResetBy: 'nlb',
    target: { listen: true, keepAliveTimeoutMs: 600_000 },
    client: { http2: true },
    requests: IDLE_RESET_REQUESTS,
  },
  {
    ...BASE,
    name: 'tls12',
    summary: "idle-reset over TLS 1.2 with the article's ECDHE-RSA-AES128-GCM-SHA256",
    expectKind: 'idle-timeout-reset',
    expectStatus: 502,
    expectPath: '/api/checkout',
    expectResetBy: 'nlb',
    target: { listen: true, keepAliveTimeoutMs: 600_000 },
    client: { http2: false, tls12Cipher: 'ECDHE-RSA-AES128-GCM-SHA256' },
    requests: IDLE_RESET_REQUESTS,
  },
  {
    ...BASE,
    name: 'load',
    summary: 'thousands of TLS connections and tens of thousands of requests through the whole path, both sides mirrored (benchmark input); no errors expected',
    expectKind: null,
    expectStatus: 200,
    expectPath: null,
    expectResetBy: null,
    nlbIdleSeconds: 60,
    target: { listen: true, keepAliveTimeoutMs: 600_000 },
    client: { http2: false },
    requests: [],
    load: { connections: 2000, requests: 20000, concurrency: 64 },
  },
];

/**
 * The scenarios CI runs in both NAT modes, each mirrored three ways at once (test/lab/matrix.test.ts);
 * the others run once, in the default mode (test/lab/scenarios.test.ts).
 */
export const NAT_MATRIX_SCENARIOS = ['idle-reset', 'keepalive-race', 'target-crash', 'slow-target', 'syn-drop'] as const;

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
