/**
 * A small display filter over decoded packets (`mirrorlens read --filter`), compiled once into a
 * tree of predicates that read the PacketDecoder without allocating.
 *
 * Grammar (keywords are case-insensitive; `and`/`&&`, `or`/`||`, `not`/`!`; `and` binds tighter
 * than `or`; parentheses group):
 * ```
 * expr      := orExpr
 * orExpr    := andExpr (('or' | '||') andExpr)*
 * andExpr   := unary (('and' | '&&')? unary)*          -- juxtaposition means 'and'
 * unary     := ('not' | '!') unary | '(' expr ')' | primitive
 * primitive := [scope] [dir] 'host' ADDR              -- an IPv4/IPv6 address
 *            | [scope] [dir] 'net' ADDR/PREFIX        -- a CIDR block
 *            | [scope] [dir] 'port' N                 -- a TCP or UDP port
 *            | [scope] [dir] 'portrange' N-M
 *            | [scope] [dir] ADDR | ADDR/PREFIX      -- shorthand for host / net
 *            | 'vni' N                                -- a VXLAN or GENEVE VNI (any nesting level, or the
 *                                                        VNI listen received the packet on)
 *            | ('point' | 'session') NAME             -- the capture point (listen's interface name)
 *            | 'vlan' [N]                             -- 802.1Q/802.1ad tag (with that id)
 *            | 'tcp' | 'udp' | 'icmp' | 'icmp6' | 'ip' | 'ip6' | 'vxlan' | 'geneve' | 'gwlb' | 'tunnel'
 *            | 'syn' | 'ack' | 'fin' | 'rst' | 'psh'    -- innermost TCP flag set
 *            | 'ok' | 'truncated' | 'malformed' | 'unsupported'   -- decode status
 *            | 'fragment'                             -- innermost IP is a fragment
 * scope     := 'inner' | 'outer'     -- innermost packet / outermost tunnel carrier; default: any layer
 * dir       := 'src' | 'dst'         -- default: either
 * ```
 * It is a capture-filter (tcpdump/BPF-style) grammar, not Wireshark's display-filter language;
 * the common Wireshark field comparisons are accepted too and rewritten into it
 * (fromWiresharkFields): `ip.addr == 10.0.0.1`, `ip.src`/`ip.dst`, `ipv6.addr`, `tcp.port == 443`,
 * `tcp.srcport`/`tcp.dstport`, the same for `udp`, `vxlan.vni == 42`, `geneve.vni`, `vlan.id`,
 * `tcp.flags.syn == 1` (syn, ack, fin, reset, push), with `==`/`eq` and `!=`/`ne`; `ipv6`/`icmpv6`.
 * Protocol words test for a layer anywhere in the stack, as tshark does (`udp` matches VXLAN
 * traffic through its outer UDP; write `udp and not tunnel` for plain UDP). Examples:
 * `host 10.0.0.1 and port 443 and vni 42`, `outer src host 172.31.5.9`, `rst or fin`,
 * `net 10.0.0.0/8 and not port 22`, `geneve and (tcp port 443 or udp port 53)`.
 */
import { ErrorCode, MirrorlensError } from './errors.js';
import { Layer } from './layer.js';
import { parseIpv4 } from './ipv4.js';
import { parseIpv6 } from './ipv6.js';
import { Status } from './status.js';
import type { PacketDecoder } from './packet.js';

/**
 * What the capture file says about a packet beyond its bytes: `mirrorlens listen` writes each
 * mirror session's decapsulated packets on a pcapng interface of their own (named for the
 * session, its description holding the VNI), so `vni N` and `point NAME` match those too.
 */
export interface PacketContext {
  /** The VNI the packet was received on (from its interface), or -1. */
  vni: number;
  /** The capture point (interface) name, or ''. */
  point: string;
}

export type PacketPredicate = (d: PacketDecoder, ctx?: PacketContext) => boolean;

type Scope = 'any' | 'inner' | 'outer';
type Dir = 'any' | 'src' | 'dst';

interface Token {
  text: string;
  /** 1-based column in the expression. */
  col: number;
}

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(\(|\)|&&|\|\||!|[^\s()!&|]+|&|\|)/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(s)) !== null) {
    if (m[0] === '') break;
    out.push({ text: m[1]!, col: m.index + m[0].length - m[1]!.length + 1 });
    last = re.lastIndex;
  }
  if (s.slice(last).trim() !== '') throw filterError(s, last + 1, `cannot read '${s.slice(last).trim()}'`);
  return out;
}

function filterError(expr: string, col: number, msg: string): MirrorlensError {
  return new MirrorlensError(ErrorCode.FilterParse, `filter '${expr}': ${msg} (column ${col})`, { column: col });
}

const FIELD_FORMS: Record<string, (v: string) => string> = {
  'ip.addr': (v) => v,
  'ipv6.addr': (v) => v,
  'ip.src': (v) => `src ${v}`,
  'ipv6.src': (v) => `src ${v}`,
  'ip.dst': (v) => `dst ${v}`,
  'ipv6.dst': (v) => `dst ${v}`,
  'tcp.port': (v) => `(tcp and port ${v})`,
  'udp.port': (v) => `(udp and port ${v})`,
  'tcp.srcport': (v) => `(tcp and src port ${v})`,
  'tcp.dstport': (v) => `(tcp and dst port ${v})`,
  'udp.srcport': (v) => `(udp and src port ${v})`,
  'udp.dstport': (v) => `(udp and dst port ${v})`,
  'vxlan.vni': (v) => `vni ${v}`,
  'geneve.vni': (v) => `vni ${v}`,
  'vlan.id': (v) => `vlan ${v}`,
};
const FLAG_FORMS: Record<string, string> = { syn: 'syn', ack: 'ack', fin: 'fin', reset: 'rst', push: 'psh' };

/** The Wireshark field names the filter understands (for messages). */
export const WIRESHARK_FIELDS = [...Object.keys(FIELD_FORMS), ...Object.keys(FLAG_FORMS).map((f) => `tcp.flags.${f}`)];

/**
 * Rewrites the common Wireshark display-filter comparisons (`tcp.port == 22`, `ip.addr != x`,
 * `tcp.flags.reset == 1`, ...) and protocol names (`ipv6`, `icmpv6`) into this grammar. Throws
 * for a Wireshark-looking field it does not know, naming the ones it does.
 */
export function fromWiresharkFields(expr: string): string {
  return expr
    .replace(/\b([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)\s*(==|!=|\beq\b|\bne\b)\s*("[^"]*"|[^\s()&|!]+)/gi, (_m, field: string, op: string, raw: string) => {
      const f = field.toLowerCase();
      const v = raw.replace(/^"|"$/g, '');
      const neg = op === '!=' || op.toLowerCase() === 'ne';
      let out: string;
      const flag = /^tcp\.flags\.([a-z]+)$/.exec(f);
      if (flag && FLAG_FORMS[flag[1]!] !== undefined) {
        const on = v === '1' || v.toLowerCase() === 'true';
        if (!on && v !== '0' && v.toLowerCase() !== 'false') throw filterError(expr, expr.indexOf(field) + 1, `${field} wants 1 or 0, got '${v}'`);
        out = on !== neg ? FLAG_FORMS[flag[1]!]! : `not ${FLAG_FORMS[flag[1]!]}`;
        return out;
      }
      const form = FIELD_FORMS[f];
      if (form === undefined) {
        throw filterError(expr, expr.indexOf(field) + 1, `the Wireshark field '${field}' is not known here; known: ${WIRESHARK_FIELDS.join(', ')}, and the tcpdump-style words of 'mirrorlens read --help'`);
      }
      return neg ? `(not ${form(v)})` : form(v);
    })
    .replace(/\bipv6\b(?!\.)/gi, 'ip6')
    .replace(/\bicmpv6\b(?!\.)/gi, 'icmp6');
}

/**
 * Compiles a filter (tcpdump-style words, or Wireshark field comparisons); throws
 * MirrorlensError (ML_FILTER_PARSE) naming the column.
 */
export function compileFilter(original: string): PacketPredicate {
  const expr = fromWiresharkFields(original);
  const toks = tokenize(expr);
  let i = 0;
  const peek = (): string | undefined => toks[i]?.text.toLowerCase();
  const col = (): number => toks[i]?.col ?? expr.length + 1;
  const fail = (msg: string): never => {
    throw filterError(expr, col(), msg);
  };
  const next = (what: string): Token => {
    const t = toks[i];
    if (!t) return fail(`expected ${what} at the end`);
    i++;
    return t;
  };

  const parseOr = (): PacketPredicate => {
    let left = parseAnd();
    while (peek() === 'or' || peek() === '||') {
      i++;
      const l = left;
      const r = parseAnd();
      left = (d, c) => l(d, c) || r(d, c);
    }
    return left;
  };
  const parseAnd = (): PacketPredicate => {
    let left = parseUnary();
    for (;;) {
      const p = peek();
      if (p === undefined || p === ')' || p === 'or' || p === '||') return left;
      if (p === 'and' || p === '&&') i++;
      const l = left;
      const r = parseUnary();
      left = (d, c) => l(d, c) && r(d, c);
    }
  };
  const parseUnary = (): PacketPredicate => {
    const p = peek();
    if (p === undefined) return fail('expected a filter term');
    if (p.includes('.') && /^[a-z]/.test(p) && !/^[0-9a-f:.]+$/.test(p)) {
      fail(`'${toks[i]!.text}' alone is not a filter term: compare it (${toks[i]!.text} == VALUE) or use the tcpdump-style words ('mirrorlens read --help')`);
    }
    if (p === 'not' || p === '!') {
      i++;
      const inner = parseUnary();
      return (d, c) => !inner(d, c);
    }
    if (p === '(') {
      i++;
      const e = parseOr();
      if (peek() !== ')') fail("expected ')'");
      i++;
      return e;
    }
    return parsePrimitive();
  };

  const parsePrimitive = (): PacketPredicate => {
    let scope: Scope = 'any';
    let dir: Dir = 'any';
    const startCol = col();
    if (peek() === 'inner' || peek() === 'outer') scope = next('scope').text.toLowerCase() as Scope;
    if (peek() === 'src' || peek() === 'dst') dir = next('direction').text.toLowerCase() as Dir;
    const t = next('a filter term');
    const w = t.text.toLowerCase();
    const qualified = scope !== 'any' || dir !== 'any';
    switch (w) {
      case 'host':
      case 'net':
        return addrPredicate(next('an address'), scope, dir, w === 'host');
      case 'port': {
        const v = next('a port number');
        const n = portNumber(v);
        return portPredicate(n, n, scope, dir);
      }
      case 'portrange': {
        const v = next('a port range N-M');
        const m = /^(\d+)-(\d+)$/.exec(v.text);
        if (!m) throw filterError(expr, v.col, `'${v.text}' is not a port range N-M`);
        const lo = portNumber({ text: m[1]!, col: v.col });
        const hi = portNumber({ text: m[2]!, col: v.col });
        if (lo > hi) throw filterError(expr, v.col, `port range ${v.text} is empty`);
        return portPredicate(lo, hi, scope, dir);
      }
      default:
        break;
    }
    if (/^[0-9a-f:.]+(\/\d+)?$/i.test(w) && (w.includes('.') || w.includes(':'))) return addrPredicate(t, scope, dir, !w.includes('/'));
    if (qualified) throw filterError(expr, t.col, `expected host, net, port or portrange after '${expr.slice(startCol - 1, t.col - 1).trim()}'`);
    switch (w) {
      case 'point':
      case 'session': {
        const v = next('a capture point (session) name');
        const name = v.text;
        return (_d, ctx) => ctx !== undefined && ctx.point === name;
      }
      case 'vni': {
        const v = next('a VNI');
        if (!/^(\d+|0x[0-9a-f]+)$/i.test(v.text) || Number(v.text) > 0xffffff) throw filterError(expr, v.col, `'${v.text}' is not a VNI (0-16777215)`);
        const vni = Number(v.text);
        return (d, ctx) => hasVni(d, vni) || (ctx !== undefined && ctx.vni === vni);
      }
      case 'vlan': {
        if (peek() !== undefined && /^\d+$/.test(peek()!)) {
          const v = next('a VLAN id');
          const id = Number(v.text);
          if (id > 4095) throw filterError(expr, v.col, `'${v.text}' is not a VLAN id (0-4095)`);
          return (d) => hasVlan(d, id);
        }
        return (d) => d.findLayer(Layer.Vlan) >= 0;
      }
      case 'tcp':
        return layer(Layer.Tcp);
      case 'udp':
        return layer(Layer.Udp);
      case 'icmp':
        return (d) => d.findLayer(Layer.Icmpv4) >= 0 || d.findLayer(Layer.Icmpv6) >= 0;
      case 'icmp6':
      case 'icmpv6':
        return layer(Layer.Icmpv6);
      case 'ip':
        return layer(Layer.Ipv4);
      case 'ip6':
      case 'ipv6':
        return layer(Layer.Ipv6);
      case 'vxlan':
        return layer(Layer.Vxlan);
      case 'geneve':
        return layer(Layer.Geneve);
      case 'gwlb':
        return (d) => d.hasGeneve && d.geneve.hasGwlb;
      case 'tunnel':
        return (d) => d.tunnelDepth > 0;
      case 'fragment':
        return (d) => (d.ipVersion === 4 ? d.ip4.isFragment : d.ipVersion === 6 ? d.ip6.isFragment : false);
      case 'syn':
        return tcpFlag(2);
      case 'fin':
        return tcpFlag(1);
      case 'rst':
        return tcpFlag(4);
      case 'psh':
        return tcpFlag(8);
      case 'ack':
        return tcpFlag(16);
      case 'ok':
        return (d) => d.status === Status.Ok;
      case 'truncated':
        return (d) => d.status === Status.Truncated;
      case 'malformed':
        return (d) => d.status === Status.Malformed;
      case 'unsupported':
        return (d) => d.status === Status.Unsupported;
      default:
        throw filterError(expr, t.col, `unknown word '${t.text}' (see 'mirrorlens read --help' for the filter grammar)`);
    }
  };

  const portNumber = (t: Token): number => {
    if (!/^\d+$/.test(t.text) || Number(t.text) > 65535) throw filterError(expr, t.col, `'${t.text}' is not a port number (0-65535)`);
    return Number(t.text);
  };

  const addrPredicate = (t: Token, scope: Scope, dir: Dir, exact: boolean): PacketPredicate => {
    const [addr, prefixText] = t.text.split('/') as [string, string | undefined];
    if (exact && prefixText !== undefined) throw filterError(expr, t.col, `'host' takes an address, not a CIDR block; use 'net ${t.text}'`);
    const v4 = parseIpv4(addr);
    if (v4 >= 0) {
      const bits = prefixText === undefined ? 32 : Number(prefixText);
      if (!Number.isInteger(bits) || bits < 0 || bits > 32 || (prefixText !== undefined && !/^\d+$/.test(prefixText))) throw filterError(expr, t.col, `bad IPv4 prefix length in '${t.text}'`);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      const want = (v4 & mask) >>> 0;
      return (d) => matchIp4(d, want, mask, scope, dir);
    }
    const bytes = new Uint8Array(16);
    if (parseIpv6(addr, bytes)) {
      const bits = prefixText === undefined ? 128 : Number(prefixText);
      if (!Number.isInteger(bits) || bits < 0 || bits > 128 || (prefixText !== undefined && !/^\d+$/.test(prefixText))) throw filterError(expr, t.col, `bad IPv6 prefix length in '${t.text}'`);
      return (d) => matchIp6(d, bytes, bits, scope, dir);
    }
    throw filterError(expr, t.col, `'${t.text}' is not an IPv4 or IPv6 address${exact ? '' : ' block'}`);
  };

  const result = parseOr();
  if (i < toks.length) fail(`unexpected '${toks[i]!.text}'`);
  return result;
}

function layer(type: number): PacketPredicate {
  return (d) => d.findLayer(type) >= 0;
}

function tcpFlag(bit: number): PacketPredicate {
  return (d) => d.tcpOk && (d.tcp.flags & bit) !== 0;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function hasVni(d: PacketDecoder, vni: number): boolean {
  const b = d.data;
  for (let i = 0; i < d.layerCount; i++) {
    const t = d.layerType[i];
    if (t === Layer.Vxlan || t === Layer.Geneve) {
      const o = d.layerOffset[i]!;
      if (((b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!) === vni) return true;
    }
  }
  return false;
}

function hasVlan(d: PacketDecoder, id: number): boolean {
  const b = d.data;
  for (let i = 0; i < d.layerCount; i++) {
    if (d.layerType[i] === Layer.Vlan && (((b[d.layerOffset[i]!]! << 8) | b[d.layerOffset[i]! + 1]!) & 0x0fff) === id) return true;
  }
  return false;
}

/** Index range of IP layers to test for a scope: [first, last]; -1 when none. */
function ipLayerRange(d: PacketDecoder, scope: Scope): [number, number] {
  if (scope === 'any') return [0, d.layerCount - 1];
  let first = -1;
  let last = -1;
  for (let i = 0; i < d.layerCount; i++) {
    const t = d.layerType[i];
    if (t === Layer.Ipv4 || t === Layer.Ipv6) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0) return [-1, -1];
  if (scope === 'outer') return d.tunnelDepth > 0 ? [first, first] : [-1, -1];
  return [last, last];
}

function matchIp4(d: PacketDecoder, want: number, mask: number, scope: Scope, dir: Dir): boolean {
  const [from, to] = ipLayerRange(d, scope);
  if (from < 0) return false;
  const b = d.data;
  for (let i = from; i <= to; i++) {
    if (d.layerType[i] !== Layer.Ipv4) continue;
    const o = d.layerOffset[i]!;
    if (dir !== 'dst' && ((u32(b, o + 12) & mask) >>> 0) === want) return true;
    if (dir !== 'src' && ((u32(b, o + 16) & mask) >>> 0) === want) return true;
  }
  return false;
}

function prefixEqual(b: Uint8Array, off: number, want: Uint8Array, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; i++, bits -= 8) if (b[off + i] !== want[i]) return false;
  if (bits === 0) return true;
  const m = (0xff << (8 - bits)) & 0xff;
  return (b[off + i]! & m) === (want[i]! & m);
}

function matchIp6(d: PacketDecoder, want: Uint8Array, bits: number, scope: Scope, dir: Dir): boolean {
  const [from, to] = ipLayerRange(d, scope);
  if (from < 0) return false;
  const b = d.data;
  for (let i = from; i <= to; i++) {
    if (d.layerType[i] !== Layer.Ipv6) continue;
    const o = d.layerOffset[i]!;
    if (dir !== 'dst' && prefixEqual(b, o + 8, want, bits)) return true;
    if (dir !== 'src' && prefixEqual(b, o + 24, want, bits)) return true;
  }
  return false;
}

function portPredicate(lo: number, hi: number, scope: Scope, dir: Dir): PacketPredicate {
  return (d) => {
    const b = d.data;
    let from = 0;
    let to = d.layerCount - 1;
    if (scope !== 'any') {
      let first = -1;
      let last = -1;
      for (let i = 0; i < d.layerCount; i++) {
        const t = d.layerType[i];
        if (t === Layer.Tcp || t === Layer.Udp) {
          if (first < 0) first = i;
          last = i;
        }
      }
      if (first < 0 || (scope === 'outer' && d.tunnelDepth === 0)) return false;
      from = to = scope === 'outer' ? first : last;
    }
    for (let i = from; i <= to; i++) {
      const t = d.layerType[i];
      if (t !== Layer.Tcp && t !== Layer.Udp) continue;
      const o = d.layerOffset[i]!;
      const sp = (b[o]! << 8) | b[o + 1]!;
      const dp = (b[o + 2]! << 8) | b[o + 3]!;
      if (dir !== 'dst' && sp >= lo && sp <= hi) return true;
      if (dir !== 'src' && dp >= lo && dp <= hi) return true;
    }
    return false;
  };
}
