/**
 * Scope rules (issue 18, docs/security.md "Scopes"), as pure functions over the domain values:
 * which operations a scope allows (the union of `ops` and `op_groups`), which names a resource
 * set matches, whether one scope lies within another (a token can never issue more than it has),
 * and how a list query is narrowed to the names a token may see.
 */
import {
  operationGroup,
  operations,
  type AccessTokenScope,
  type Operation,
  type ResourceSet,
} from '../../domain/access-tokens.js';

/** Bit of each operation in an operation mask (24 operations fit a 32-bit integer). */
export const operationBit = Object.fromEntries(operations.map((op, i) => [op, 1 << i])) as Record<Operation, number>;
export const allOperationsMask = (1 << operations.length) - 1;

/** The effective operations of a scope, as a mask: `ops` united with every operation of each permitted group. */
export function operationMask(scope: AccessTokenScope): number {
  let mask = 0;
  for (const op of scope.ops ?? []) mask |= operationBit[op];
  const groups = scope.opGroups;
  if (groups) {
    for (const op of operations) {
      const { level, access } = operationGroup[op];
      if (groups[level]?.[access]) mask |= operationBit[op];
    }
  }
  return mask;
}

export function operationsOf(mask: number): Operation[] {
  return operations.filter((op) => (mask & operationBit[op]) !== 0);
}

/** Whether `name` is in the set. A null set, like `{exact: ""}`, matches nothing; `{prefix: ""}` matches all. */
export function matches(set: ResourceSet | null, name: string): boolean {
  if (set === null) return false;
  if ('exact' in set) return set.exact !== '' && set.exact === name;
  return name.startsWith(set.prefix);
}

function isEmpty(set: ResourceSet | null): boolean {
  return set === null || ('exact' in set && set.exact === '');
}

/** Whether every name `child` matches is also matched by `parent`. */
export function setWithin(child: ResourceSet | null, parent: ResourceSet | null): boolean {
  if (isEmpty(child)) return true;
  if (isEmpty(parent)) return false;
  const c = child!;
  const p = parent!;
  if ('prefix' in p) return ('exact' in c ? c.exact : c.prefix).startsWith(p.prefix);
  return 'exact' in c && c.exact === p.exact;
}

/** Why `child` is wider than `parent`, or null if it lies within it (the issue rule of docs/security.md). */
export function scopeWiderThan(child: AccessTokenScope, parent: AccessTokenScope): string | null {
  const extra = operationMask(child) & ~operationMask(parent);
  if (extra !== 0) return `operations not permitted to the issuing token: ${operationsOf(extra).join(', ')}`;
  if (!setWithin(child.basins, parent.basins)) return 'basins outside the issuing token scope';
  if (!setWithin(child.streams, parent.streams)) return 'streams outside the issuing token scope';
  if (!setWithin(child.accessTokens, parent.accessTokens)) return 'access tokens outside the issuing token scope';
  return null;
}

export interface ListQuery {
  prefix: string;
  startAfter: string;
  limit: number;
}

/**
 * A list query narrowed to a resource set, so that pages (limit, has_more) count only visible
 * names: null when nothing can match; `exact` when the result must still be filtered to that one
 * name (it sorts first among the names it prefixes, so a page of one is enough).
 */
export function narrowList(set: ResourceSet | null, query: ListQuery): { query: ListQuery; exact?: string } | null {
  if (isEmpty(set)) return null;
  if ('exact' in set!) {
    const name = set.exact;
    const afterStart = query.startAfter === '' || Buffer.compare(Buffer.from(name), Buffer.from(query.startAfter)) > 0;
    if (!name.startsWith(query.prefix) || !afterStart) return null;
    return { query: { ...query, prefix: name, limit: 1 }, exact: name };
  }
  const prefix = set!.prefix;
  if (query.prefix.startsWith(prefix)) return { query };
  if (prefix.startsWith(query.prefix)) return { query: { ...query, prefix } };
  return null;
}
