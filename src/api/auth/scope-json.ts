/**
 * The JSON of the access-token routes (openapi `AccessTokenInfo`, `AccessTokenScope`,
 * `ResourceSet`, `PermittedOperationGroups`): reading an issue request and writing token infos.
 * Anything that does not deserialize (wrong type, unknown operation, a resource set with both or
 * neither of `exact`/`prefix`, an id out of range) is 400 `bad_json`, as for every JSON body
 * (api.md 1.7); unknown members are ignored.
 */
import {
  operations,
  type AccessTokenMeta,
  type AccessTokenScope,
  type Operation,
  type OperationGroups,
  type ReadWritePermissions,
  type ResourceSet,
} from '../../domain/access-tokens.js';
import { errors } from '../../domain/errors.js';
import { accessTokenIdBytesMax, basinNameBytesMax, streamNameBytesMax } from '../../limits.js';

/** Why `id` is not an access token id (1-96 bytes, not `.`/`..`, no NUL; api.md 11.3), or null. */
export function accessTokenIdProblem(id: string): string | null {
  const bytes = Buffer.byteLength(id);
  if (bytes < 1 || bytes > accessTokenIdBytesMax) return `access token id must be 1-${accessTokenIdBytesMax} bytes`;
  if (id === '.' || id === '..') return 'access token id must not be "." or ".."';
  if (id.includes('\0')) return 'access token id must not contain NUL bytes';
  return null;
}

/** `prefix` / `start_after` of the list: like an id, but may be empty. */
export function accessTokenPrefixProblem(value: string, what: 'prefix' | 'start-after'): string | null {
  if (Buffer.byteLength(value) > accessTokenIdBytesMax)
    return `access token ${what} must not exceed ${accessTokenIdBytesMax} bytes`;
  if (value.includes('\0')) return `access token ${what} must not contain NUL bytes`;
  return null;
}

export interface IssueRequest {
  id: string;
  scope: AccessTokenScope;
  autoPrefixStreams: boolean;
  /** Requested expiry (ms); undefined: that of the issuing token. */
  expiresAtMs: number | undefined;
}

const rfc3339 = /^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

function fail(detail: string): never {
  throw errors.badJson(`Failed to deserialize the JSON body into the target type: ${detail}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseIssueRequest(body: unknown): IssueRequest {
  if (!isObject(body)) fail('expected an object');
  if (typeof body.id !== 'string') fail('missing or invalid field `id`');
  const problem = accessTokenIdProblem(body.id);
  if (problem) fail(`id: ${problem}`);
  if (!isObject(body.scope)) fail('missing or invalid field `scope`');
  const auto = body.auto_prefix_streams ?? false;
  if (typeof auto !== 'boolean') fail('auto_prefix_streams: expected a boolean');
  return {
    id: body.id,
    scope: parseScope(body.scope),
    autoPrefixStreams: auto,
    expiresAtMs: parseExpiry(body.expires_at),
  };
}

function parseExpiry(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'string' && rfc3339.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) fail('expires_at: expected an RFC 3339 timestamp');
  return ms;
}

function parseScope(json: Record<string, unknown>): AccessTokenScope {
  return {
    basins: parseSet(json.basins, 'basins', basinNameBytesMax),
    streams: parseSet(json.streams, 'streams', streamNameBytesMax),
    accessTokens: parseSet(json.access_tokens, 'access_tokens', accessTokenIdBytesMax),
    opGroups: parseGroups(json.op_groups),
    ops: parseOps(json.ops),
  };
}

function parseSet(value: unknown, what: string, bytesMax: number): ResourceSet | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) fail(`scope.${what}: expected an object`);
  const hasExact = value.exact !== undefined;
  const hasPrefix = value.prefix !== undefined;
  if (hasExact === hasPrefix) fail(`scope.${what}: expected exactly one of \`exact\`, \`prefix\``);
  const name = hasExact ? value.exact : value.prefix;
  if (typeof name !== 'string') fail(`scope.${what}: expected a string`);
  if (Buffer.byteLength(name) > bytesMax) fail(`scope.${what}: must not exceed ${bytesMax} bytes`);
  return hasExact ? { exact: name } : { prefix: name };
}

function parseGroups(value: unknown): OperationGroups | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) fail('scope.op_groups: expected an object');
  const rw = (level: keyof OperationGroups): ReadWritePermissions | null => {
    const v = value[level];
    if (v === undefined || v === null) return null;
    if (!isObject(v)) fail(`scope.op_groups.${level}: expected an object`);
    const read = v.read ?? false;
    const write = v.write ?? false;
    if (typeof read !== 'boolean' || typeof write !== 'boolean') fail(`scope.op_groups.${level}: expected booleans`);
    return { read, write };
  };
  return { account: rw('account'), basin: rw('basin'), stream: rw('stream') };
}

function parseOps(value: unknown): Operation[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) fail('scope.ops: expected an array');
  const given = new Set<Operation>();
  for (const op of value) {
    if (typeof op !== 'string' || !(operations as readonly string[]).includes(op)) {
      fail(`scope.ops: unknown variant ${JSON.stringify(op)}, expected one of ${operations.join(', ')}`);
    }
    given.add(op as Operation);
  }
  // Stored once each, in the enum's order.
  return operations.filter((op) => given.has(op));
}

function setJson(set: ResourceSet | null): Record<string, string> | null {
  if (set === null) return null;
  return 'exact' in set ? { exact: set.exact } : { prefix: set.prefix };
}

export function scopeJson(scope: AccessTokenScope): Record<string, unknown> {
  const groups = scope.opGroups;
  return {
    access_tokens: setJson(scope.accessTokens),
    basins: setJson(scope.basins),
    op_groups: groups === null ? null : { account: groups.account, basin: groups.basin, stream: groups.stream },
    ops: scope.ops,
    streams: setJson(scope.streams),
  };
}

export function accessTokenInfoJson(id: string, meta: AccessTokenMeta): Record<string, unknown> {
  return {
    id,
    scope: scopeJson(meta.scope),
    auto_prefix_streams: meta.autoPrefixStreams,
    expires_at: meta.expiresAtMs === null ? null : new Date(meta.expiresAtMs).toISOString(),
  };
}
