/**
 * Test harness: requests and responses of the AWS query protocols (EC2's ec2Query, ELBv2's
 * awsQuery) checked against the service model the SDK itself ships (the schemas in
 * `@aws-sdk/client-ec2/dist-es/schemas/schemas_0.js`), so a local endpoint built on it accepts only
 * parameters the real API defines and answers in the shape the SDK parses.
 *
 * Schema shapes (Smithy static schemas as the SDK ships them): a structure is
 * `[3, namespace, name, traits, memberNames, memberSchemas, requiredCount?]`, a list
 * `[1, namespace, name, traits, memberSchema]`; a member schema is a number (0 string, 1 number,
 * 2 boolean, 4 timestamp, `64 | n` a list of n), a function returning a structure or list, or
 * `[schema, traits]` with traits such as `{ xmlName, ec2QueryName }`.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

type Traits = Record<string, unknown>;
type Schema = number | (() => unknown) | unknown[];

export interface ServiceModel {
  shapes: Record<string, unknown>;
  /** The .d.ts text with the API documentation (for Filter names). */
  docs: string;
  protocol: 'ec2' | 'query';
}

const ROOT = join(import.meta.dirname, '../../node_modules/@aws-sdk');

export async function loadModel(pkg: 'client-ec2' | 'client-elastic-load-balancing-v2'): Promise<ServiceModel> {
  const shapes = (await import(pathToFileURL(join(ROOT, pkg, 'dist-es/schemas/schemas_0.js')).href)) as Record<string, unknown>;
  let docs = '';
  if (pkg === 'client-ec2') {
    for (let i = 0; i < 10; i++) {
      try {
        docs += readFileSync(join(ROOT, pkg, `dist-types/models/models_${i}.d.ts`), 'utf8');
      } catch {
        break;
      }
    }
  }
  return { shapes, docs, protocol: pkg === 'client-ec2' ? 'ec2' : 'query' };
}

/** `[schema, traits]`, where traits is an object or 0 (none). */
function isMember(s: Schema): s is unknown[] {
  return Array.isArray(s) && s.length === 2 && (typeof s[0] === 'function' || typeof s[0] === 'number') && (typeof s[1] === 'number' || (typeof s[1] === 'object' && s[1] !== null && !Array.isArray(s[1])));
}

function resolve(s: Schema): { schema: unknown; traits: Traits } {
  if (isMember(s)) {
    const inner = resolve(s[0] as Schema);
    return { schema: inner.schema, traits: { ...(typeof s[1] === 'object' ? (s[1] as Traits) : {}), ...inner.traits } };
  }
  if (typeof s === 'function') return { schema: s(), traits: {} };
  return { schema: s, traits: {} };
}

function kind(schema: unknown): 'struct' | 'list' | 'simple' {
  if (typeof schema === 'number') return (schema & 64) !== 0 ? 'list' : 'simple';
  if (Array.isArray(schema) && schema[0] === 3) return 'struct';
  if (Array.isArray(schema) && schema[0] === 1) return 'list';
  return 'simple';
}

function listItem(schema: unknown): { schema: unknown; traits: Traits } {
  if (typeof schema === 'number') return { schema: schema & 63, traits: {} };
  return resolve((schema as unknown[])[4] as Schema);
}

function members(schema: unknown): { name: string; schema: unknown; traits: Traits; required: boolean }[] {
  const s = schema as unknown[];
  const names = s[4] as string[];
  const schemas = s[5] as Schema[];
  const req = typeof s[6] === 'number' ? s[6] : 0;
  return names.map((name, i) => {
    const r = resolve(schemas[i]!);
    // Member traits (xmlName, ec2QueryName) sit on the member, the target's own traits under them.
    const m = schemas[i]!;
    const memberTraits = isMember(m) && typeof m[1] === 'object' ? (m[1] as Traits) : {};
    return { name, schema: r.schema, traits: memberTraits, required: i < req };
  });
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function wireName(m: { name: string; traits: Traits }, protocol: 'ec2' | 'query'): string {
  if (protocol === 'ec2') return (m.traits.ec2QueryName as string | undefined) ?? cap((m.traits.xmlName as string | undefined) ?? m.name);
  return (m.traits.xmlName as string | undefined) ?? m.name;
}

export class ModelError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Decodes a query request (form parameters) for `action` into an object with the API's member
 * names, checking every parameter against the model: unknown parameters and missing required
 * members throw ModelError.
 */
export function decodeRequest(model: ServiceModel, action: string, params: URLSearchParams): Record<string, unknown> {
  const input = (model.shapes[`${action}Request$`] ?? model.shapes[`${action}Input$`]) as unknown[] | undefined;
  if (!input) throw new ModelError('InvalidAction', `The action ${action} is not valid for this web service.`);
  const used = new Set(['Action', 'Version']);
  const keys = [...params.keys()];
  const walk = (schema: unknown, prefix: string, where: string): unknown => {
    const k = kind(schema);
    if (k === 'simple') {
      if (!params.has(prefix)) return undefined;
      used.add(prefix);
      const v = params.get(prefix)!;
      const t = typeof schema === 'number' ? schema : 0;
      if (t === 1) {
        if (!/^-?\d+(\.\d+)?$/.test(v)) throw new ModelError('InvalidParameterValue', `${where}: '${v}' is not a number`);
        return Number(v);
      }
      if (t === 2) return v === 'true';
      return v;
    }
    if (k === 'list') {
      const item = listItem(schema);
      const out: unknown[] = [];
      const base = model.protocol === 'ec2' ? prefix : `${prefix}.member`;
      for (let i = 1; ; i++) {
        const p = `${base}.${i}`;
        if (!keys.some((x) => x === p || x.startsWith(p + '.'))) break;
        out.push(walk(item.schema, p, `${where}[${i}]`));
      }
      return out.length ? out : undefined;
    }
    const obj: Record<string, unknown> = {};
    for (const m of members(schema)) {
      const p = prefix ? `${prefix}.${wireName(m, model.protocol)}` : wireName(m, model.protocol);
      const v = walk(m.schema, p, `${where}.${m.name}`);
      if (v !== undefined) obj[m.name] = v;
      else if (m.required) throw new ModelError('MissingParameter', `The request must contain the parameter ${p}`);
    }
    return Object.keys(obj).length ? obj : prefix === '' ? obj : undefined;
  };
  const value = walk(input, '', action) as Record<string, unknown>;
  const unknown = keys.filter((k) => !used.has(k));
  if (unknown.length) throw new ModelError('UnknownParameter', `The parameter ${unknown[0]} is not recognized`);
  return value;
}

/** The Filter names the API documents for `action` (from the SDK's doc comments), e.g. 'description'. */
export function documentsFilter(model: ServiceModel, action: string, filterName: string): boolean {
  const start = model.docs.indexOf(`export interface ${action}Request {`);
  if (start < 0) return false;
  const end = model.docs.indexOf('\n}', start);
  return model.docs.slice(start, end).includes(`<code>${filterName}</code>`);
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Serializes `value` (API member names) as the XML body of `action`'s output, by the model. */
export function encodeResponse(model: ServiceModel, action: string, value: Record<string, unknown>, requestId: string): string {
  const output = (model.shapes[`${action}Result$`] ?? model.shapes[`${action}Output$`]) as unknown[];
  if (!output) throw new Error(`no output shape for ${action}`);
  const enc = (schema: unknown, v: unknown): string => {
    const k = kind(schema);
    if (v === undefined || v === null) return '';
    if (k === 'simple') return esc(v instanceof Date ? v.toISOString() : String(v));
    if (k === 'list') {
      const item = listItem(schema);
      const tag = (item.traits.xmlName as string | undefined) ?? 'member';
      return (v as unknown[]).map((x) => `<${tag}>${enc(item.schema, x)}</${tag}>`).join('');
    }
    let out = '';
    for (const m of members(schema)) {
      const mv = (v as Record<string, unknown>)[m.name];
      if (mv === undefined) continue;
      const tag = (m.traits.xmlName as string | undefined) ?? m.name;
      out += `<${tag}>${enc(m.schema, mv)}</${tag}>`;
    }
    return out;
  };
  const body = enc(output, value);
  if (model.protocol === 'ec2') {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${requestId}</requestId>${body}</${action}Response>`;
  }
  return `<${action}Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><${action}Result>${body}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

export function encodeError(model: ServiceModel, code: string, message: string, requestId: string): string {
  if (model.protocol === 'ec2') {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
  }
  return `<ErrorResponse><Error><Type>Sender</Type><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}
