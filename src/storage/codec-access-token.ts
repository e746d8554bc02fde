/**
 * Access-token records as persisted: in `access-token.put` mutations (a JSON string) and in the
 * snapshot's `accessTokens` (JSON objects). Layout: docs/formats.md, "Access-token records".
 *
 * As with basin and stream metadata (codec-meta.ts), the persisted shape is declared here apart
 * from the domain type and mapped member by member; reading checks every member and refuses
 * unknown ones, unknown operations and unknown versions as corrupt data. Only the hash of a
 * token is ever stored, never the token.
 */
import {
  operations,
  type AccessTokenMeta,
  type AccessTokenScope,
  type Operation,
  type OperationGroups,
  type ReadWritePermissions,
  type ResourceSet,
} from '../domain/access-tokens.js';
import { CorruptDataError } from './binary.js';
import { arr, bool, closedObj, int, nullable, oneOf, str } from './codec-json.js';

export const accessTokenFormatVersion = 1;
const accessTokenFormatVersions = [1];

/** A token hash: SHA-256, base64url without padding. */
const hashPattern = /^[A-Za-z0-9_-]{43}$/;

type PersistedResourceSet = { exact: string } | { prefix: string };
type PersistedPermissions = { read: boolean; write: boolean };

export interface PersistedAccessToken {
  version: typeof accessTokenFormatVersion;
  hash: string;
  scope: {
    basins: PersistedResourceSet | null;
    streams: PersistedResourceSet | null;
    accessTokens: PersistedResourceSet | null;
    opGroups: {
      account: PersistedPermissions | null;
      basin: PersistedPermissions | null;
      stream: PersistedPermissions | null;
    } | null;
    ops: Operation[] | null;
  };
  autoPrefixStreams: boolean;
  expiresAtMs: number | null;
  issuedAtMs: number;
}

export function persistAccessToken(meta: AccessTokenMeta): PersistedAccessToken {
  const { scope } = meta;
  const groups = scope.opGroups;
  return {
    version: accessTokenFormatVersion,
    hash: meta.hash,
    scope: {
      basins: persistSet(scope.basins),
      streams: persistSet(scope.streams),
      accessTokens: persistSet(scope.accessTokens),
      opGroups:
        groups === null
          ? null
          : { account: persistRw(groups.account), basin: persistRw(groups.basin), stream: persistRw(groups.stream) },
      ops: scope.ops === null ? null : [...scope.ops],
    },
    autoPrefixStreams: meta.autoPrefixStreams,
    expiresAtMs: meta.expiresAtMs,
    issuedAtMs: meta.issuedAtMs,
  };
}

function persistSet(set: ResourceSet | null): PersistedResourceSet | null {
  if (set === null) return null;
  return 'exact' in set ? { exact: set.exact } : { prefix: set.prefix };
}

function persistRw(rw: ReadWritePermissions | null): PersistedPermissions | null {
  return rw === null ? null : { read: rw.read, write: rw.write };
}

/** Members of each domain type, listed exhaustively: one added to the type fails to compile here. */
function members<T>(all: Record<keyof T, true>): string[] {
  return Object.keys(all);
}
const metaFields = [
  'version',
  ...members<AccessTokenMeta>({
    scope: true,
    autoPrefixStreams: true,
    expiresAtMs: true,
    issuedAtMs: true,
    hash: true,
  }),
];
const scopeFields = members<AccessTokenScope>({
  basins: true,
  streams: true,
  accessTokens: true,
  opGroups: true,
  ops: true,
});
const groupFields = members<OperationGroups>({ account: true, basin: true, stream: true });
const rwFields = members<ReadWritePermissions>({ read: true, write: true });

export function readAccessToken(value: unknown, what: string): AccessTokenMeta {
  const json = closedObj(value, metaFields, what);
  if (typeof json.version !== 'number' || !accessTokenFormatVersions.includes(json.version)) {
    throw new CorruptDataError(`${what}: unsupported access token version ${JSON.stringify(json.version)}`);
  }
  const hash = str(json.hash, `${what} hash`);
  if (!hashPattern.test(hash)) throw new CorruptDataError(`${what}: malformed token hash`);
  const scope = closedObj(json.scope, scopeFields, `${what} scope`);
  return {
    scope: {
      basins: nullable(scope.basins, `${what} basins`, readSet),
      streams: nullable(scope.streams, `${what} streams`, readSet),
      accessTokens: nullable(scope.accessTokens, `${what} accessTokens`, readSet),
      opGroups: nullable(scope.opGroups, `${what} opGroups`, readGroups),
      ops: nullable(scope.ops, `${what} ops`, (v, w) => arr(v, w).map((op) => oneOf(op, operations, w))),
    },
    autoPrefixStreams: bool(json.autoPrefixStreams, `${what} autoPrefixStreams`),
    expiresAtMs: nullable(json.expiresAtMs, `${what} expiresAtMs`, int),
    issuedAtMs: int(json.issuedAtMs, `${what} issuedAtMs`),
    hash,
  };
}

function readSet(value: unknown, what: string): ResourceSet {
  const json = closedObj(value, ['exact', 'prefix'], what);
  const keys = Object.keys(json);
  if (keys.length !== 1) throw new CorruptDataError(`${what}: expected exactly one of exact, prefix`);
  return keys[0] === 'exact' ? { exact: str(json.exact, what) } : { prefix: str(json.prefix, what) };
}

function readGroups(value: unknown, what: string): OperationGroups {
  const json = closedObj(value, groupFields, what);
  return {
    account: nullable(json.account, `${what} account`, readRw),
    basin: nullable(json.basin, `${what} basin`, readRw),
    stream: nullable(json.stream, `${what} stream`, readRw),
  };
}

function readRw(value: unknown, what: string): ReadWritePermissions {
  const json = closedObj(value, rwFields, what);
  return { read: bool(json.read, `${what} read`), write: bool(json.write, `${what} write`) };
}

/** The root token's hash as persisted (in `root-token.put` and the snapshot). */
export function readTokenHash(value: unknown, what: string): string {
  const hash = str(value, what);
  if (!hashPattern.test(hash)) throw new CorruptDataError(`${what}: malformed token hash`);
  return hash;
}
