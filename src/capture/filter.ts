/**
 * Local mirror filter with the semantics of AWS VPC Traffic Mirror filter rules, so that a wide
 * mirror session can be narrowed on the target (and the same rules applied by `read`/`analyze`).
 *
 * AWS semantics reproduced (EC2 API CreateTrafficMirrorFilterRule; see docs/listen.md):
 * - A filter holds two independent rule lists, ingress and egress, relative to the mirrored ENI.
 *   A packet is evaluated against the list of its direction only.
 * - Rules are processed in ascending RuleNumber order; the first rule that matches decides
 *   (RuleAction accept → kept, reject → not kept). Rule numbers are unique within a direction.
 * - No rule matches → not kept ("By default, no traffic is mirrored").
 * - A rule matches when protocol (IANA number; omitted = all), source CIDR, destination CIDR, and
 *   (for TCP/UDP only) source and destination port ranges all match. Both CIDRs are required and are
 *   of one family: an IPv4 rule never matches an IPv6 packet and vice versa.
 *
 * Local choices where AWS says nothing (documented in docs/listen.md):
 * - Direction unknown (the listener could not tell ingress from egress): the packet is kept when
 *   either list would keep it.
 * - Non-IP packets match no rule (so a filter drops them). A TCP/UDP packet whose ports are unknown
 *   (non-first fragment, truncated header) matches only rules without port ranges.
 *
 * File format: JSON or YAML, either mirrorlens' own shape or AWS CLI
 * `describe-traffic-mirror-filters` output pasted as is (see parseMirrorFilter).
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import { readFileSync } from 'node:fs';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { fileProblem } from './inputs.js';

/** Direction of a packet relative to the mirrored interface (numeric: used on the hot path). */
export const MirrorDirection = { Unknown: 0, Ingress: 1, Egress: 2 } as const;
export type MirrorDirection = (typeof MirrorDirection)[keyof typeof MirrorDirection];
export const MIRROR_DIRECTION_NAMES: readonly string[] = ['unknown', 'ingress', 'egress'];

export interface Cidr {
  family: 4 | 6;
  /** Network address bytes (4 or 16), host bits cleared. */
  address: Uint8Array;
  prefixLength: number;
  /** As written (normalised), for messages and metrics. */
  text: string;
}

export interface PortRange {
  from: number;
  to: number;
}

export interface MirrorFilterRule {
  ruleNumber: number;
  direction: 'ingress' | 'egress';
  action: 'accept' | 'reject';
  /** IANA protocol number; undefined = all protocols. */
  protocol: number | undefined;
  source: Cidr;
  destination: Cidr;
  sourcePorts: PortRange | undefined;
  destinationPorts: PortRange | undefined;
  description: string;
  /** Where the rule was written (file:line), for messages. */
  where: string;
}

export interface MirrorFilter {
  /** Sorted by ruleNumber ascending. */
  ingress: readonly MirrorFilterRule[];
  egress: readonly MirrorFilterRule[];
  /** File it came from, if any. */
  source: string;
}

/**
 * What the filter needs to know about a decoded packet. Callers fill one reused object from their
 * decoder (no allocation per packet). Addresses are read from `bytes` at the given offsets.
 */
export interface FilterPacket {
  /** 4 or 6; anything else (ARP, non-IP) matches no rule. */
  ipVersion: number;
  bytes: Uint8Array;
  srcAddrOffset: number;
  dstAddrOffset: number;
  /** IP protocol number (after IPv6 extension headers). */
  protocol: number;
  /** Transport ports; -1 when not known (not TCP/UDP, non-first fragment, truncated). */
  srcPort: number;
  dstPort: number;
}

/** A FilterPacket with nothing in it (ipVersion 0), to be filled per packet. */
export function emptyFilterPacket(): FilterPacket {
  return { ipVersion: 0, bytes: new Uint8Array(0), srcAddrOffset: 0, dstAddrOffset: 0, protocol: 0, srcPort: -1, dstPort: -1 };
}

function cidrMatches(c: Cidr, bytes: Uint8Array, off: number): boolean {
  const a = c.address;
  let bits = c.prefixLength;
  let i = 0;
  while (bits >= 8) {
    if (bytes[off + i] !== a[i]) return false;
    i++;
    bits -= 8;
  }
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((bytes[off + i]! ^ a[i]!) & mask) === 0;
}

/** True when `rule` matches `p` (direction is not looked at). */
export function ruleMatches(rule: MirrorFilterRule, p: FilterPacket): boolean {
  if (p.ipVersion !== rule.source.family) return false;
  if (rule.protocol !== undefined && rule.protocol !== p.protocol) return false;
  if (!cidrMatches(rule.source, p.bytes, p.srcAddrOffset)) return false;
  if (!cidrMatches(rule.destination, p.bytes, p.dstAddrOffset)) return false;
  const sp = rule.sourcePorts;
  if (sp !== undefined && (p.srcPort < sp.from || p.srcPort > sp.to)) return false;
  const dp = rule.destinationPorts;
  if (dp !== undefined && (p.dstPort < dp.from || p.dstPort > dp.to)) return false;
  return true;
}

function firstMatch(rules: readonly MirrorFilterRule[], p: FilterPacket): MirrorFilterRule | undefined {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (ruleMatches(r, p)) return r;
  }
  return undefined;
}

/**
 * The rule deciding a packet in `direction` (first match by rule number), or undefined when no rule
 * matches (→ not kept). For Unknown direction: the ingress rule if it accepts, else the egress
 * rule if it accepts, else whichever matched (a reject), else undefined.
 */
export function mirrorFilterRuleFor(filter: MirrorFilter, p: FilterPacket, direction: MirrorDirection): MirrorFilterRule | undefined {
  if (direction === MirrorDirection.Ingress) return firstMatch(filter.ingress, p);
  if (direction === MirrorDirection.Egress) return firstMatch(filter.egress, p);
  const i = firstMatch(filter.ingress, p);
  if (i !== undefined && i.action === 'accept') return i;
  const e = firstMatch(filter.egress, p);
  if (e !== undefined && e.action === 'accept') return e;
  return i ?? e;
}

/** AWS semantics: is this packet kept (mirrored)? No matching rule → false. */
export function mirrorFilterKeeps(filter: MirrorFilter, p: FilterPacket, direction: MirrorDirection): boolean {
  const r = mirrorFilterRuleFor(filter, p, direction);
  return r !== undefined && r.action === 'accept';
}

// ---------------------------------------------------------------------------------------------
// Parsing

const PROTOCOL_NAMES: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132 };

/** Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (= /32 or /128). Throws RangeError. */
export function parseCidr(text: string): Cidr {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const bytes = addr.includes(':') ? parseIPv6(addr) : parseIPv4(addr);
  if (bytes === undefined) throw new RangeError(`'${text}' is not an IPv4 or IPv6 CIDR block`);
  const family: 4 | 6 = bytes.length === 4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new RangeError(`'${text}': prefix length must be 0-${max}`);
    prefix = Number(p);
  }
  for (let bit = prefix; bit < max; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { family, address: bytes, prefixLength: prefix, text: `${formatAddress(bytes)}/${prefix}` };
}

function parseIPv4(s: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const v = Number(m[i + 1]);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let head = s;
  let tail = '';
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
    if (tail.includes('::')) return undefined;
  }
  const words = (part: string): number[] | undefined => {
    if (part === '') return [];
    const res: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return undefined;
        res.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        res.push(parseInt(p, 16));
      }
    }
    return res;
  };
  const h = words(head);
  const t = words(tail);
  if (!h || !t) return undefined;
  if (dbl < 0 ? h.length !== 8 : h.length + t.length > 7) return undefined;
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = all[i]! >> 8;
    out[i * 2 + 1] = all[i]! & 0xff;
  }
  return out;
}

/** Formats 4 or 16 address bytes (IPv6 compressed per RFC 5952). */
export function formatAddress(b: Uint8Array, off = 0, len = b.length): string {
  if (len === 4) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + i * 2]! << 8) | b[off + i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** Lower-case, without '_' / '-': `DestinationCidrBlock`, `destination_cidr_block` → `destinationcidrblock`. */
function norm(k: string): string {
  return k.toLowerCase().replace(/[_-]/g, '');
}

type Path = (string | number)[];

class FilterParser {
  private readonly lines = new LineCounter();
  private readonly doc: Document.Parsed;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: false });
    const err = this.doc.errors[0];
    if (err) {
      const pos = this.lines.linePos(err.pos[0]);
      throw new MirrorlensError(ErrorCode.FilterParse, `not valid JSON/YAML: ${err.message.split('\n')[0]}`, { file, line: pos.line, column: pos.col });
    }
  }

  fail(path: Path, message: string): never {
    const node = this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const where = node && typeof node === 'object' && node.range ? this.lines.linePos(node.range[0]) : undefined;
    throw new MirrorlensError(ErrorCode.FilterParse, message, { file: this.file, line: where?.line, column: where?.col });
  }

  lineOf(path: Path): number | undefined {
    const node = this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node && typeof node === 'object' && node.range ? this.lines.linePos(node.range[0]).line : undefined;
  }

  parse(): MirrorFilter {
    if (this.text.trim() === '') this.fail([], 'empty filter file (a filter with no rule would keep nothing)');
    const root: unknown = this.doc.toJS();
    if (root === null || typeof root !== 'object' || Array.isArray(root)) {
      if (Array.isArray(root)) return this.finish(this.ruleList(root, [], undefined));
      this.fail([], 'a filter file holds a mapping with ingress/egress rule lists (see docs/listen.md)');
    }
    const obj = root as Record<string, unknown>;
    const keys = new Map(Object.keys(obj).map((k) => [norm(k), k]));
    // AWS CLI describe-traffic-mirror-filters output: { TrafficMirrorFilters: [ { IngressFilterRules, EgressFilterRules } ] }
    const tmf = keys.get('trafficmirrorfilters');
    if (tmf !== undefined) {
      const list = obj[tmf];
      if (!Array.isArray(list) || list.length !== 1) this.fail([tmf], 'TrafficMirrorFilters must hold exactly one filter (use --query to pick one)');
      const inner = list[0] as Record<string, unknown>;
      return this.finish(this.filterObject(inner, [tmf, 0]));
    }
    const single = keys.get('trafficmirrorfilter');
    if (single !== undefined) return this.finish(this.filterObject(obj[single] as Record<string, unknown>, [single]));
    return this.finish(this.filterObject(obj, []));
  }

  private filterObject(obj: Record<string, unknown>, path: Path): MirrorFilterRule[] {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) this.fail(path, 'expected a mapping with ingress/egress rule lists');
    const rules: MirrorFilterRule[] = [];
    let seen = false;
    for (const k of Object.keys(obj)) {
      const n = norm(k);
      if (n === 'ingress' || n === 'ingressfilterrules') {
        rules.push(...this.ruleList(obj[k], [...path, k], 'ingress'));
        seen = true;
      } else if (n === 'egress' || n === 'egressfilterrules') {
        rules.push(...this.ruleList(obj[k], [...path, k], 'egress'));
        seen = true;
      } else if (n === 'rules') {
        rules.push(...this.ruleList(obj[k], [...path, k], undefined));
        seen = true;
      } else if (['trafficmirrorfilterid', 'description', 'networkservices', 'tags', 'name'].includes(n)) {
        // informational; Amazon DNS eligibility (NetworkServices) is decided by AWS before packets reach us
      } else {
        this.fail([...path, k], `unknown key '${k}' (expected ingress, egress or rules)`);
      }
    }
    if (!seen) this.fail(path, 'no ingress/egress/rules list found');
    return rules;
  }

  private ruleList(v: unknown, path: Path, direction: 'ingress' | 'egress' | undefined): MirrorFilterRule[] {
    if (v === null || v === undefined) return [];
    if (!Array.isArray(v)) this.fail(path, 'expected a list of rules');
    return v.map((r, i) => this.rule(r, [...path, i], direction));
  }

  private rule(v: unknown, path: Path, listDirection: 'ingress' | 'egress' | undefined): MirrorFilterRule {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'a rule is a mapping (ruleNumber, action, source, destination, ...)');
    const raw = v as Record<string, unknown>;
    const f = new Map<string, string>();
    for (const k of Object.keys(raw)) f.set(norm(k), k);
    const get = (...names: string[]): [unknown, Path] | undefined => {
      for (const n of names) {
        const k = f.get(n);
        if (k !== undefined) return [raw[k], [...path, k]];
      }
      return undefined;
    };
    const known = new Set([
      'rulenumber', 'rule', 'number',
      'trafficdirection', 'direction',
      'ruleaction', 'action',
      'protocol',
      'sourcecidrblock', 'sourcecidr', 'source', 'src',
      'destinationcidrblock', 'destinationcidr', 'destination', 'dst',
      'sourceportrange', 'sourceports', 'sourceport', 'srcports', 'srcport',
      'destinationportrange', 'destinationports', 'destinationport', 'dstports', 'dstport',
      'description', 'trafficmirrorfilterruleid', 'trafficmirrorfilterid', 'tags',
    ]);
    for (const [n, k] of f) if (!known.has(n)) this.fail([...path, k], `unknown rule key '${k}'`);

    const num = get('rulenumber', 'rule', 'number');
    if (!num) this.fail(path, 'rule without ruleNumber');
    const ruleNumber = Number(num[0]);
    if (!Number.isInteger(ruleNumber) || ruleNumber < 1 || ruleNumber > 32766) this.fail(num[1], `ruleNumber must be an integer 1-32766, got ${JSON.stringify(num[0])}`);

    let direction = listDirection;
    const dir = get('trafficdirection', 'direction');
    if (dir) {
      const d = String(dir[0]).toLowerCase();
      if (d !== 'ingress' && d !== 'egress') this.fail(dir[1], `direction must be ingress or egress, got ${JSON.stringify(dir[0])}`);
      if (listDirection !== undefined && d !== listDirection) this.fail(dir[1], `rule says ${d} but is in the ${listDirection} list`);
      direction = d;
    }
    if (direction === undefined) this.fail(path, 'rule without direction (ingress or egress)');

    const act = get('ruleaction', 'action');
    if (!act) this.fail(path, 'rule without action (accept or reject)');
    const a = String(act[0]).toLowerCase();
    if (a !== 'accept' && a !== 'reject') this.fail(act[1], `action must be accept or reject, got ${JSON.stringify(act[0])}`);

    let protocol: number | undefined;
    const pr = get('protocol');
    if (pr && pr[0] !== null && pr[0] !== undefined) {
      const pv = pr[0];
      if (typeof pv === 'number' || /^-?\d+$/.test(String(pv))) {
        const n = Number(pv);
        if (n === -1 || n === 0) protocol = undefined;
        else if (n >= 1 && n <= 255) protocol = n;
        else this.fail(pr[1], `protocol must be an IANA protocol number 0-255 or a name (tcp, udp, icmp, ...), got ${pv}`);
      } else {
        const s = String(pv).toLowerCase();
        if (s === 'all' || s === '-1') protocol = undefined;
        else if (PROTOCOL_NAMES[s] !== undefined) protocol = PROTOCOL_NAMES[s];
        else this.fail(pr[1], `unknown protocol ${JSON.stringify(pv)} (use an IANA number, tcp, udp, icmp, icmpv6 or all)`);
      }
    }

    const cidr = (names: string[], what: string): Cidr => {
      const c = get(...names);
      if (!c) this.fail(path, `rule without ${what} CIDR block (AWS requires both; use 0.0.0.0/0 or ::/0 for any)`);
      try {
        return parseCidr(String(c[0]));
      } catch (e) {
        this.fail(c[1], `${what}: ${(e as Error).message}`);
      }
    };
    const source = cidr(['sourcecidrblock', 'sourcecidr', 'source', 'src'], 'source');
    const destination = cidr(['destinationcidrblock', 'destinationcidr', 'destination', 'dst'], 'destination');
    if (source.family !== destination.family) this.fail(path, `source ${source.text} and destination ${destination.text} are of different IP families`);

    const ports = (names: string[], what: string): PortRange | undefined => {
      const p = get(...names);
      if (!p || p[0] === null || p[0] === undefined) return undefined;
      const range = this.portRange(p[0], p[1], what);
      if (protocol !== 6 && protocol !== 17) this.fail(p[1], `${what} port range applies only to protocol tcp (6) or udp (17)`);
      return range;
    };
    const sourcePorts = ports(['sourceportrange', 'sourceports', 'sourceport', 'srcports', 'srcport'], 'source');
    const destinationPorts = ports(['destinationportrange', 'destinationports', 'destinationport', 'dstports', 'dstport'], 'destination');
    const desc = get('description');
    const line = this.lineOf(path);
    return {
      ruleNumber,
      direction,
      action: a,
      protocol,
      source,
      destination,
      sourcePorts,
      destinationPorts,
      description: desc ? String(desc[0]) : '',
      where: line !== undefined ? `${this.file}:${line}` : this.file,
    };
  }

  private portRange(v: unknown, path: Path, what: string): PortRange {
    let from: number;
    let to: number;
    if (typeof v === 'number') {
      from = to = v;
    } else if (typeof v === 'string') {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(v);
      if (!m) this.fail(path, `${what} port range must look like 443 or 8000-8080, got ${JSON.stringify(v)}`);
      from = Number(m[1]);
      to = m[2] !== undefined ? Number(m[2]) : from;
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const m = new Map(Object.keys(o).map((k) => [norm(k), o[k]]));
      const fv = m.get('fromport') ?? m.get('from');
      const tv = m.get('toport') ?? m.get('to') ?? fv;
      from = Number(fv);
      to = Number(tv);
    } else {
      this.fail(path, `${what} port range must be a number, "from-to" or {FromPort, ToPort}`);
    }
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > 65535 || from > to) {
      this.fail(path, `${what} port range must be within 0-65535 with from <= to, got ${JSON.stringify(v)}`);
    }
    return { from, to };
  }

  private finish(rules: MirrorFilterRule[]): MirrorFilter {
    const seen = new Map<string, MirrorFilterRule>();
    for (const r of rules) {
      const k = `${r.direction}/${r.ruleNumber}`;
      const prev = seen.get(k);
      if (prev) {
        const line = Number(r.where.slice(r.where.lastIndexOf(':') + 1));
        throw new MirrorlensError(ErrorCode.FilterParse, `rule number ${r.ruleNumber} is used twice in the ${r.direction} list (also at ${prev.where}); AWS requires it unique per direction`, { file: this.file, line: Number.isFinite(line) ? line : undefined });
      }
      seen.set(k, r);
    }
    const by = (d: string): MirrorFilterRule[] => rules.filter((r) => r.direction === d).sort((x, y) => x.ruleNumber - y.ruleNumber);
    return { ingress: by('ingress'), egress: by('egress'), source: this.file };
  }
}

/**
 * Parses a filter from JSON or YAML text. Accepted shapes (keys in any case, with or without
 * '_'/'-'):
 *  - `{ ingress: [rule...], egress: [rule...] }` (mirrorlens' shape),
 *  - `{ rules: [rule...] }` or a bare list, each rule naming its `direction`,
 *  - AWS CLI `describe-traffic-mirror-filters` output (`TrafficMirrorFilters[0].IngressFilterRules` ...).
 * A rule: `ruleNumber`, `action` (accept|reject), `protocol` (number or name; omitted/all/0/-1 =
 * all), `source`/`destination` CIDR (or `SourceCidrBlock`/`DestinationCidrBlock`), optional
 * `sourcePorts`/`destinationPorts` (443, "8000-8080", {FromPort, ToPort}) for tcp/udp.
 * Throws MirrorlensError(ML_FILTER_PARSE) with file and line.
 */
export function parseMirrorFilter(text: string, file = '<filter>'): MirrorFilter {
  return new FilterParser(text, file).parse();
}

/** Reads and parses a filter file (JSON or YAML). */
export function loadMirrorFilter(path: string): MirrorFilter {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new MirrorlensError(ErrorCode.FileOpen, `cannot read filter file: ${fileProblem(e)}`, { file: path });
  }
  return parseMirrorFilter(text, path);
}

/** One line per rule, for `listen` start-up output and docs. */
export function describeMirrorFilter(f: MirrorFilter): string[] {
  const out: string[] = [];
  for (const r of [...f.ingress, ...f.egress]) {
    const proto = r.protocol === undefined ? 'all' : String(r.protocol);
    const sp = r.sourcePorts ? `:${r.sourcePorts.from}-${r.sourcePorts.to}` : '';
    const dp = r.destinationPorts ? `:${r.destinationPorts.from}-${r.destinationPorts.to}` : '';
    out.push(`${r.direction} ${r.ruleNumber} ${r.action} proto ${proto} ${r.source.text}${sp} -> ${r.destination.text}${dp}`);
  }
  return out;
}
