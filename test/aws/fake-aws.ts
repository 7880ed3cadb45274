/**
 * Test harness: a local EC2 + ELBv2 endpoint for `aws mirror`, on a free loopback port. Every
 * request is recorded and checked against the API model the SDK ships (query-model.ts): an unknown
 * parameter, a missing required one or an undocumented Filter name is answered with the error AWS
 * would give, so a test fails on it. It keeps the Traffic Mirroring resources it is asked to make,
 * so apply, apply again and destroy can be followed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeRequest, documentsFilter, encodeError, encodeResponse, loadModel, ModelError, type ServiceModel } from './query-model.js';

export interface Recorded {
  service: 'ec2' | 'elbv2';
  action: string;
  params: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

export interface FakeWorld {
  enis: Obj[];
  instances: { InstanceId: string; InstanceType: string }[];
  securityGroups: { GroupId: string; IpPermissions: Obj[] }[];
  loadBalancers: { LoadBalancerName: string; LoadBalancerArn: string; Type: string }[];
  listeners: Record<string, { Port: number; Protocol: string }[]>;
  targetHealth: Record<string, { Id: string; Port?: number }[]>;
  flowLogs?: { FlowLogId: string; LogGroupName: string; LogFormat: string }[];
}

export interface FakeAws {
  endpoint: string;
  requests: Recorded[];
  targets: Obj[];
  filters: Obj[];
  sessions: Obj[];
  /** Environment for the CLI: both services at this endpoint, test credentials. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

function tagsOf(p: Obj, type: string): Obj[] {
  const specs = (p.TagSpecifications as Obj[] | undefined) ?? [];
  return specs.filter((s) => s.ResourceType === type).flatMap((s) => (s.Tags as Obj[]) ?? []);
}

export async function startFakeAws(world: FakeWorld): Promise<FakeAws> {
  const ec2Model = await loadModel('client-ec2');
  const elbModel = await loadModel('client-elastic-load-balancing-v2');
  const requests: Recorded[] = [];
  const targets: Obj[] = [];
  const filters: Obj[] = [];
  const sessions: Obj[] = [];
  let seq = 0;
  const id = (prefix: string): string => `${prefix}-${(0x1000000000000 + ++seq * 7919).toString(16).slice(-17).padStart(17, '0')}`;

  const fail = (code: string, message: string): never => {
    throw new ModelError(code, message);
  };
  const checkFilters = (action: string, p: Obj): Obj[] => {
    const fs = (p.Filters as Obj[] | undefined) ?? [];
    for (const f of fs) if (!documentsFilter(ec2Model, action, String(f.Name))) fail('InvalidParameterValue', `The filter '${String(f.Name)}' is invalid`);
    return fs;
  };
  const match = (fs: Obj[], get: (name: string) => string[]): boolean => fs.every((f) => (f.Values as string[]).some((v) => get(String(f.Name)).includes(v)));

  const ec2 = (action: string, p: Obj): Obj => {
    switch (action) {
      case 'DescribeNetworkInterfaces': {
        const fs = checkFilters(action, p);
        const ids = p.NetworkInterfaceIds as string[] | undefined;
        for (const i of ids ?? []) if (!world.enis.some((e) => e.NetworkInterfaceId === i)) fail('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${i}' does not exist`);
        const list = world.enis.filter(
          (e) =>
            (!ids || ids.includes(String(e.NetworkInterfaceId))) &&
            match(fs, (n) =>
              n === 'description' ? [String(e.Description ?? '')] : n === 'attachment.instance-id' ? [String((e.Attachment as Obj | undefined)?.InstanceId ?? '')] : n === 'addresses.private-ip-address' ? [String(e.PrivateIpAddress)] : [],
            ),
        );
        return { NetworkInterfaces: list };
      }
      case 'DescribeFlowLogs': {
        const fs = checkFilters(action, p);
        return { FlowLogs: (world.flowLogs ?? []).filter((f) => match(fs, (n) => (n === 'log-group-name' ? [f.LogGroupName] : []))) };
      }
      case 'DescribeInstances':
        return { Reservations: [{ Instances: world.instances.filter((i) => (p.InstanceIds as string[]).includes(i.InstanceId)) }] };
      case 'DescribeSecurityGroups':
        return { SecurityGroups: world.securityGroups.filter((g) => (p.GroupIds as string[]).includes(g.GroupId)) };
      case 'DescribeTrafficMirrorTargets':
        return { TrafficMirrorTargets: targets };
      case 'DescribeTrafficMirrorFilters':
        return { TrafficMirrorFilters: filters };
      case 'DescribeTrafficMirrorSessions':
        return { TrafficMirrorSessions: sessions };
      case 'CreateTrafficMirrorTarget': {
        const n = ['NetworkInterfaceId', 'NetworkLoadBalancerArn', 'GatewayLoadBalancerEndpointId'].filter((k) => p[k] !== undefined);
        if (n.length !== 1) fail('InvalidParameterCombination', 'Exactly one of NetworkInterfaceId, NetworkLoadBalancerArn, GatewayLoadBalancerEndpointId is required');
        const t = { TrafficMirrorTargetId: id('tmt'), NetworkInterfaceId: p.NetworkInterfaceId, NetworkLoadBalancerArn: p.NetworkLoadBalancerArn, GatewayLoadBalancerEndpointId: p.GatewayLoadBalancerEndpointId, Description: p.Description, Tags: tagsOf(p, 'traffic-mirror-target') };
        targets.push(t);
        return { TrafficMirrorTarget: t };
      }
      case 'CreateTrafficMirrorFilter': {
        const f = { TrafficMirrorFilterId: id('tmf'), Description: p.Description, IngressFilterRules: [] as Obj[], EgressFilterRules: [] as Obj[], Tags: tagsOf(p, 'traffic-mirror-filter') };
        filters.push(f);
        return { TrafficMirrorFilter: f };
      }
      case 'CreateTrafficMirrorFilterRule': {
        const f = filters.find((x) => x.TrafficMirrorFilterId === p.TrafficMirrorFilterId) ?? fail('InvalidTrafficMirrorFilterId.NotFound', `${String(p.TrafficMirrorFilterId)} not found`);
        const list = (p.TrafficDirection === 'ingress' ? f.IngressFilterRules : f.EgressFilterRules) as Obj[];
        if (list.some((r) => r.RuleNumber === p.RuleNumber)) fail('TrafficMirrorFilterRuleAlreadyExists', `rule number ${String(p.RuleNumber)} exists`);
        if (((f.IngressFilterRules as Obj[]).length + (f.EgressFilterRules as Obj[]).length) >= 10) fail('TrafficMirrorFilterRuleLimitExceeded', 'at most 10 rules');
        const { ClientToken: _c, DryRun: _d, TagSpecifications: _t, ...rest } = p;
        const r = { TrafficMirrorFilterRuleId: id('tmfr'), ...rest };
        list.push(r);
        return { TrafficMirrorFilterRule: r };
      }
      case 'DeleteTrafficMirrorFilterRule': {
        for (const f of filters) {
          for (const k of ['IngressFilterRules', 'EgressFilterRules']) {
            const list = f[k] as Obj[];
            const i = list.findIndex((r) => r.TrafficMirrorFilterRuleId === p.TrafficMirrorFilterRuleId);
            if (i >= 0) {
              list.splice(i, 1);
              return { TrafficMirrorFilterRuleId: p.TrafficMirrorFilterRuleId };
            }
          }
        }
        return fail('InvalidTrafficMirrorFilterRuleId.NotFound', 'not found');
      }
      case 'CreateTrafficMirrorSession': {
        const eni = world.enis.find((e) => e.NetworkInterfaceId === p.NetworkInterfaceId) ?? fail('InvalidNetworkInterfaceID.NotFound', 'not found');
        if (targets.some((t) => t.NetworkInterfaceId === eni.NetworkInterfaceId)) fail('InvalidParameterValue', 'a target interface cannot be a source');
        if (sessions.filter((s) => s.NetworkInterfaceId === p.NetworkInterfaceId).length >= 3) fail('TrafficMirrorSessionLimitExceeded', 'at most 3 sessions per interface');
        const s = {
          TrafficMirrorSessionId: id('tms'),
          TrafficMirrorTargetId: p.TrafficMirrorTargetId,
          TrafficMirrorFilterId: p.TrafficMirrorFilterId,
          NetworkInterfaceId: p.NetworkInterfaceId,
          SessionNumber: p.SessionNumber,
          VirtualNetworkId: p.VirtualNetworkId ?? 1000 + seq,
          PacketLength: p.PacketLength,
          Description: p.Description,
          Tags: tagsOf(p, 'traffic-mirror-session'),
        };
        sessions.push(s);
        return { TrafficMirrorSession: s };
      }
      case 'DeleteTrafficMirrorSession': {
        const i = sessions.findIndex((s) => s.TrafficMirrorSessionId === p.TrafficMirrorSessionId);
        if (i < 0) fail('InvalidTrafficMirrorSessionId.NotFound', 'not found');
        sessions.splice(i, 1);
        return { TrafficMirrorSessionId: p.TrafficMirrorSessionId };
      }
      case 'DeleteTrafficMirrorFilter': {
        const i = filters.findIndex((s) => s.TrafficMirrorFilterId === p.TrafficMirrorFilterId);
        if (i < 0) fail('InvalidTrafficMirrorFilterId.NotFound', 'not found');
        if (sessions.some((s) => s.TrafficMirrorFilterId === p.TrafficMirrorFilterId)) fail('DependencyViolation', 'the filter is in use by a session');
        filters.splice(i, 1);
        return { TrafficMirrorFilterId: p.TrafficMirrorFilterId };
      }
      case 'DeleteTrafficMirrorTarget': {
        const i = targets.findIndex((s) => s.TrafficMirrorTargetId === p.TrafficMirrorTargetId);
        if (i < 0) fail('InvalidTrafficMirrorTargetId.NotFound', 'not found');
        if (sessions.some((s) => s.TrafficMirrorTargetId === p.TrafficMirrorTargetId)) fail('DependencyViolation', 'the target is in use by a session');
        targets.splice(i, 1);
        return { TrafficMirrorTargetId: p.TrafficMirrorTargetId };
      }
      default:
        return fail('UnsupportedOperation', `${action} is not served by this test endpoint`);
    }
  };

  const elb = (action: string, p: Obj): Obj => {
    switch (action) {
      case 'DescribeLoadBalancers': {
        const names = (p.Names as string[] | undefined) ?? [];
        const found = world.loadBalancers.filter((l) => names.includes(l.LoadBalancerName));
        if (found.length === 0) fail('LoadBalancerNotFound', `Load balancers '[${names.join(', ')}]' not found`);
        return { LoadBalancers: found };
      }
      case 'DescribeListeners':
        return { Listeners: (world.listeners[String(p.LoadBalancerArn)] ?? []).map((l) => ({ ...l, LoadBalancerArn: p.LoadBalancerArn })) };
      case 'DescribeTargetHealth':
        return { TargetHealthDescriptions: (world.targetHealth[String(p.TargetGroupArn)] ?? fail('TargetGroupNotFound', 'not found')).map((t) => ({ Target: t, TargetHealth: { State: 'healthy' } })) };
      default:
        return fail('UnsupportedOperation', `${action} is not served by this test endpoint`);
    }
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const params = new URLSearchParams(body);
      const action = params.get('Action') ?? '';
      const isEc2 = params.get('Version') === '2016-11-15';
      const model: ServiceModel = isEc2 ? ec2Model : elbModel;
      const rid = `req-${requests.length + 1}`;
      try {
        if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256 Credential=AKIDTEST/')) fail('AuthFailure', 'AWS was not able to validate the provided access credentials');
        const p = decodeRequest(model, action, params);
        requests.push({ service: isEc2 ? 'ec2' : 'elbv2', action, params: p });
        const out = isEc2 ? ec2(action, p) : elb(action, p);
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(encodeResponse(model, action, out, rid));
      } catch (e) {
        const code = e instanceof ModelError ? e.code : 'InternalError';
        requests.push({ service: isEc2 ? 'ec2' : 'elbv2', action: `${action}!${code}`, params: {} });
        res.writeHead(code === 'AuthFailure' ? 401 : 400, { 'content-type': 'text/xml' });
        res.end(encodeError(model, code, (e as Error).message, rid));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    requests,
    targets,
    filters,
    sessions,
    env: {
      PATH: process.env.PATH,
      AWS_ENDPOINT_URL_EC2: endpoint,
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'test-secret',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
