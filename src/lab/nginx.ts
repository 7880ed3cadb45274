/**
 * The lab's "ALB": nginx terminating TLS 1.2/1.3 with HTTP/1.1 and h2, a keep-alive pool to its
 * upstream (the NLB VIP), `proxy_next_upstream off` so failures surface as 502/504, an
 * X-Amzn-Trace-Id header on every request to the target, and an access log written directly in the
 * ALB access-log format (33 fields, aws-facts §3.2) by `log_format`, no post-processing:
 *
 * - time / request_creation_time: ISO 8601 UTC with microseconds. nginx has millisecond $msec, so
 *   the last three digits are 000; nginx runs with TZ=UTC so $time_iso8601 is UTC.
 * - request/target/response_processing_time: from $upstream_connect_time / $upstream_header_time;
 *   -1 where nginx has no value (no connection, no response header), as ALB does.
 * - target_status_code: `-` unless the target sent a response header (nginx reports 502/504 in
 *   $upstream_status for failures it generated itself; those are not the target's).
 * - request: `"METHOD https://host:443/uri HTTP/x.y"`, `"- - - "` for a request nginx could not parse.
 * - elb_status_code: `$status`, except nginx's 499 (client closed first), which ALB logs as 460.
 * - trace_id: `Root=1-<8 hex epoch seconds>-<24 hex>` from the request's arrival second and
 *   $request_id; the same value is sent to the target as X-Amzn-Trace-Id.
 * - conn_trace_id: `TID_<run id><connection serial>` (opaque, one per client connection).
 */
import { ADDR } from './topology.js';

export interface NginxOptions {
  /** Run temp dir: pid, temp paths, certs. */
  runDir: string;
  accessLog: string;
  errorLog: string;
  cert: string;
  key: string;
  /** ALB idle timeout, seconds: client keep-alive and idle pooled upstream connections. */
  albIdleSeconds: number;
  /** Seconds nginx waits for the target's response (ALB: idle timeout). */
  readTimeoutSeconds: number;
  /** Seconds nginx waits for the TCP handshake with the target (ALB: 10 s). */
  connectTimeoutSeconds: number;
  /** Idle pooled upstream connections kept per worker. */
  keepaliveConnections: number;
  workers: number;
  /** Epoch seconds; trace-id hex times are tabulated from here for `traceSpanSeconds`. */
  startEpochSeconds: number;
  traceSpanSeconds: number;
  /** 12 hex chars making ids unique per run. */
  runId: string;
  /** HTTPS to the targets with these TLS versions (`TLSv1.2`): an HTTPS target group. Absent: HTTP. */
  upstreamTlsProtocols?: string;
  /** Requests per client connection before nginx closes it (HTTP/2: GOAWAY). Default 100 000. */
  keepaliveRequests?: number;
}

/** ALB's default security policy ciphers (ELBSecurityPolicy-2016-08), in its order. */
export const ALB_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA', 'ECDHE-ECDSA-AES256-SHA',
  'AES128-GCM-SHA256', 'AES128-SHA256', 'AES128-SHA', 'AES256-GCM-SHA384', 'AES256-SHA256', 'AES256-SHA',
].join(':');

export const LAB_ELB = 'app/mlab-alb/50dc6c495c0c9188';
export const LAB_TARGET_GROUP_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mlab-targets/73e2d6bc24d8a067';
export const LAB_CERT_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';

/** The 33 ALB access-log fields as an nginx log_format (one line, single-quoted parts). */
export const ALB_LOG_FORMAT = [
  '$alb_type',
  '${alb_resp_date}.${alb_resp_ms}000Z',
  LAB_ELB,
  '$remote_addr:$remote_port',
  '$alb_target',
  '$alb_rpt',
  '$alb_tpt',
  '$alb_respt',
  '$alb_status',
  '$alb_target_status',
  '$request_length',
  '$bytes_sent',
  '"$alb_request"',
  '"$http_user_agent"',
  '$ssl_cipher',
  '$ssl_protocol',
  LAB_TARGET_GROUP_ARN,
  '"$alb_trace_id"',
  '"$ssl_server_name"',
  '"$alb_cert"',
  '0',
  '${alb_req_date}.${alb_req_ms}000Z',
  '"forward"',
  '"-"',
  '"-"',
  '"$alb_target"',
  '"$alb_target_status"',
  '"-"',
  '"-"',
  'TID_$alb_run_id$connection',
  '"-"',
  '"-"',
  '"-"',
].join(' ');

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function nginxConfig(o: NginxOptions): string {
  const hexMap: string[] = [];
  for (let s = o.startEpochSeconds - 5; s <= o.startEpochSeconds + o.traceSpanSeconds; s++) hexMap.push(`    ${s} ${hex8(s)};`);
  const tmp = (p: string): string => `${o.runDir}/${p}`;
  return `# mirrorlens lab: the "ALB" (generated; see src/lab/nginx.ts)
worker_processes ${o.workers};
pid ${tmp('nginx.pid')};
error_log ${o.errorLog} info;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  client_body_temp_path ${tmp('body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  server_tokens off;
  map_hash_max_size 262144;
  map_hash_bucket_size 64;

  map $http2 $alb_type { h2 h2; default https; }
  # nginx logs a client that went away before the answer as 499; ALB logs it as 460. A response
  # whose body stopped short of its Content-Length (nginx had already sent the head, then timed out
  # reading) is logged as the ALB logs it: 504, "timed out waiting for the missing bytes".
  map "$status:$upstream_response_length:$upstream_http_content_length" $alb_status {
    "~^499:" 460;
    "~^[0-9]+:([0-9]+):\\1$" $status;
    "~^200:0:" $status;
    "~^200:[0-9]+:[0-9]+$" 504;
    default $status;
  }
  # ALB logs "- - - " when nothing parseable was received.
  map $request_method $alb_request { "" "- - - "; default "$request_method $scheme://$host:$server_port$request_uri $server_protocol"; }
  # Response time (log time): volatile, evaluated when the line is written.
  map $time_iso8601 $alb_resp_date { volatile; "~^(?<d>[0-9-]+T[0-9:]+)" $d; default -; }
  map $msec $alb_resp_ms { volatile; "~\\.(?<ms>[0-9]{3})$" $ms; default 000; }
  # Request time: captured with set in the server block when the request arrives.
  # (no request time when nginx rejected the request before the rewrite phase: use the log time)
  map $alb_req_iso $alb_req_date { "~^(?<d>[0-9-]+T[0-9:]+)" $d; default $alb_resp_date; }
  map $alb_req_msec $alb_req_ms { "~\\.(?<ms>[0-9]{3})$" $ms; default $alb_resp_ms; }
  map $alb_req_msec $alb_req_sec { "~^(?<s>[0-9]+)\\." $s; default 0; }
  map $alb_req_sec $alb_req_hex {
    default ${hex8(o.startEpochSeconds)};
${hexMap.join('\n')}
  }
  map $request_id $alb_trace_rand { "~^(?<r>[0-9a-f]{24})" $r; default 000000000000000000000000; }
  map $alb_req_hex $alb_trace_id { default "Root=1-$alb_req_hex-$alb_trace_rand"; }
  map $upstream_addr $alb_target { "" -; default $upstream_addr; }
  map $upstream_connect_time $alb_rpt { "" -1; "-" -1; default $upstream_connect_time; }
  map $upstream_header_time $alb_tpt { "" -1; "-" -1; default $upstream_header_time; }
  map $upstream_header_time $alb_respt { "" -1; "-" -1; default 0.000; }
  map "$upstream_header_time:$upstream_status" $alb_target_status { "~^[0-9.]+:(?<s>[0-9]+)$" $s; default -; }
  map $ssl_session_reused $alb_cert { r session-reused; default ${LAB_CERT_ARN}; }
  map $host $alb_run_id { default ${o.runId}; }

  log_format alb '${ALB_LOG_FORMAT}';

  upstream targets {
    server ${ADDR.nlbVip}:${ADDR.nlbPort} max_fails=0;
    keepalive ${o.keepaliveConnections};
    keepalive_timeout ${o.albIdleSeconds}s;
    keepalive_requests 100000;
  }

  server {
    listen ${ADDR.albFront}:443 ssl http2 backlog=4096;
    server_name ${ADDR.albHost};
    ssl_certificate ${o.cert};
    ssl_certificate_key ${o.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ${ALB_CIPHERS};
    ssl_prefer_server_ciphers on;
    ssl_session_cache shared:alb:1m;
    keepalive_timeout ${o.albIdleSeconds}s;
    keepalive_requests ${o.keepaliveRequests ?? 100000};
    access_log ${o.accessLog} alb;

    set $alb_req_msec $msec;
    set $alb_req_iso $time_iso8601;

    location / {
      proxy_pass ${o.upstreamTlsProtocols ? 'https' : 'http'}://targets;${o.upstreamTlsProtocols ? `
      # An HTTPS target group: the ALB offers these versions and does not verify the target's certificate.
      proxy_ssl_protocols ${o.upstreamTlsProtocols};
      proxy_ssl_verify off;
      proxy_ssl_server_name off;` : ''}
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Amzn-Trace-Id $alb_trace_id;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Port 443;
      proxy_next_upstream off;
      # The ALB's limit on the whole response header: 32 KB (a larger head is a 502).
      proxy_buffer_size 32k;
      proxy_buffers 8 32k;
      proxy_busy_buffers_size 64k;
      proxy_connect_timeout ${o.connectTimeoutSeconds}s;
      proxy_read_timeout ${o.readTimeoutSeconds}s;
      proxy_send_timeout ${o.readTimeoutSeconds}s;
    }
  }
}
`;
}
