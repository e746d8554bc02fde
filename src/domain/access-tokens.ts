/**
 * Access tokens as values (issue 18; openapi `AccessTokenInfo`, `AccessTokenScope`,
 * `ResourceSet`, `PermittedOperationGroups`, `Operation`): what the api layer parses and
 * enforces, the engine keeps and storage persists. The secret itself is never one of these
 * values: only its hash is (docs/security.md).
 */

/**
 * Every operation a scope can name, in the order of the official SDK's `Operation` type (the
 * published openapi lists the first 21; the SDK adds the three location operations). Persisted
 * by name: never rename one.
 */
export const operations = [
  'list-basins',
  'create-basin',
  'delete-basin',
  'reconfigure-basin',
  'get-basin-config',
  'issue-access-token',
  'revoke-access-token',
  'list-access-tokens',
  'list-streams',
  'create-stream',
  'delete-stream',
  'get-stream-config',
  'reconfigure-stream',
  'check-tail',
  'append',
  'read',
  'trim',
  'fence',
  'account-metrics',
  'basin-metrics',
  'stream-metrics',
  'list-locations',
  'get-default-location',
  'set-default-location',
] as const;

export type Operation = (typeof operations)[number];

export type GroupLevel = 'account' | 'basin' | 'stream';
export type GroupAccess = 'read' | 'write';

/**
 * The operation group each operation belongs to (`op_groups`). The spec names the groups but not
 * their members; this follows S2's documentation: an operation belongs to the level of the
 * resource it acts on (creating or deleting a basin acts on the account, reconfiguring it on the
 * basin; creating a stream acts on the basin), and to `read` unless it changes something.
 */
export const operationGroup: Record<Operation, { level: GroupLevel; access: GroupAccess }> = {
  'list-basins': { level: 'account', access: 'read' },
  'list-access-tokens': { level: 'account', access: 'read' },
  'account-metrics': { level: 'account', access: 'read' },
  'list-locations': { level: 'account', access: 'read' },
  'get-default-location': { level: 'account', access: 'read' },
  'create-basin': { level: 'account', access: 'write' },
  'delete-basin': { level: 'account', access: 'write' },
  'issue-access-token': { level: 'account', access: 'write' },
  'revoke-access-token': { level: 'account', access: 'write' },
  'set-default-location': { level: 'account', access: 'write' },
  'get-basin-config': { level: 'basin', access: 'read' },
  'list-streams': { level: 'basin', access: 'read' },
  'basin-metrics': { level: 'basin', access: 'read' },
  'reconfigure-basin': { level: 'basin', access: 'write' },
  'create-stream': { level: 'basin', access: 'write' },
  'delete-stream': { level: 'basin', access: 'write' },
  'get-stream-config': { level: 'stream', access: 'read' },
  'check-tail': { level: 'stream', access: 'read' },
  read: { level: 'stream', access: 'read' },
  'stream-metrics': { level: 'stream', access: 'read' },
  'reconfigure-stream': { level: 'stream', access: 'write' },
  append: { level: 'stream', access: 'write' },
  trim: { level: 'stream', access: 'write' },
  fence: { level: 'stream', access: 'write' },
};

/** Names matched exactly (an empty name matches nothing) or by prefix (an empty prefix matches all). */
export type ResourceSet = { exact: string } | { prefix: string };

export interface ReadWritePermissions {
  read: boolean;
  write: boolean;
}

export interface OperationGroups {
  account: ReadWritePermissions | null;
  basin: ReadWritePermissions | null;
  stream: ReadWritePermissions | null;
}

/**
 * A token's scope. A resource set left null matches no resource of its kind (the safe reading of
 * an absent set; docs/security.md), exactly like `{exact: ""}`.
 */
export interface AccessTokenScope {
  basins: ResourceSet | null;
  streams: ResourceSet | null;
  accessTokens: ResourceSet | null;
  opGroups: OperationGroups | null;
  ops: Operation[] | null;
}

/** An issued token as the server keeps it: everything but the secret, of which only a hash. */
export interface AccessTokenMeta {
  scope: AccessTokenScope;
  /** Stream names are prefixed with the scope's stream prefix on the way in, stripped on the way out. */
  autoPrefixStreams: boolean;
  /** Wall-clock ms after which the token is refused; null = never. */
  expiresAtMs: number | null;
  issuedAtMs: number;
  /** SHA-256 of the token text, base64url without padding (43 characters). */
  hash: string;
}

/** The scope of the root token: every operation on every resource. */
export function rootScope(): AccessTokenScope {
  const all = { read: true, write: true };
  return {
    basins: { prefix: '' },
    streams: { prefix: '' },
    accessTokens: { prefix: '' },
    opGroups: { account: all, basin: all, stream: all },
    ops: [...operations],
  };
}
