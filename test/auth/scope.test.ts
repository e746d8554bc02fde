/**
 * Proves the scope rules as pure functions: the effective operations are the union of `ops` and
 * `op_groups` (with the group of every operation), resource sets match exactly or by prefix (an
 * empty exact and a null set match nothing, an empty prefix everything), "within" never lets a
 * child scope reach a name or operation its parent cannot, list queries are narrowed to the
 * visible names, issue requests with malformed scopes are refused, and bearer tokens are read
 * strictly from exactly one Authorization header.
 */
import { describe, expect, it } from 'vitest';
import { operationGroup, operations, rootScope, type AccessTokenScope } from '../../src/domain/access-tokens.js';
import { S2Error } from '../../src/domain/errors.js';
import {
  allOperationsMask,
  matches,
  narrowList,
  operationBit,
  operationMask,
  operationsOf,
  scopeWiderThan,
  setWithin,
} from '../../src/api/auth/scope.js';
import { parseIssueRequest, accessTokenIdProblem } from '../../src/api/auth/scope-json.js';
import { bearerToken, mintToken, tokenHash } from '../../src/api/auth/token.js';
import type { Request } from '../../src/api/http.js';

const none: AccessTokenScope = { basins: null, streams: null, accessTokens: null, opGroups: null, ops: null };

describe('effective operations', () => {
  it('a group grants exactly the operations of its level and access, and unions with ops', () => {
    for (const level of ['account', 'basin', 'stream'] as const) {
      for (const access of ['read', 'write'] as const) {
        const groups = {
          account: null,
          basin: null,
          stream: null,
          [level]: { read: access === 'read', write: access === 'write' },
        };
        const granted = operationsOf(operationMask({ ...none, opGroups: groups }));
        const expected = operations.filter(
          (op) => operationGroup[op].level === level && operationGroup[op].access === access,
        );
        expect(granted).toEqual(expected);
        expect(expected.length).toBeGreaterThan(0);
        const withOps = operationsOf(operationMask({ ...none, opGroups: groups, ops: ['append', 'list-basins'] }));
        expect(new Set(withOps)).toEqual(new Set([...expected, 'append', 'list-basins']));
      }
    }
  });

  it('every operation is in exactly one group, and the groups cover all of them', () => {
    let mask = 0;
    for (const op of operations) {
      expect(mask & operationBit[op]).toBe(0);
      mask |= operationBit[op];
    }
    expect(mask).toBe(allOperationsMask);
    expect(operationMask(rootScope())).toBe(allOperationsMask);
    expect(operationMask(none)).toBe(0);
  });
});

describe('resource sets', () => {
  it('match exactly or by prefix; empty exact and null match nothing; empty prefix everything', () => {
    expect(matches({ exact: 'a' }, 'a')).toBe(true);
    expect(matches({ exact: 'a' }, 'ab')).toBe(false);
    expect(matches({ exact: '' }, '')).toBe(false);
    expect(matches(null, 'a')).toBe(false);
    expect(matches({ prefix: '' }, 'anything')).toBe(true);
    expect(matches({ prefix: 'ab' }, 'abc')).toBe(true);
    expect(matches({ prefix: 'ab' }, 'a')).toBe(false);
  });

  it('within: a child set never reaches a name its parent does not', () => {
    const sets = [
      null,
      { exact: '' },
      { exact: 'ab' },
      { exact: 'abc' },
      { prefix: '' },
      { prefix: 'a' },
      { prefix: 'ab' },
      { prefix: 'b' },
    ];
    const names = ['', 'a', 'ab', 'abc', 'abd', 'b', 'ba'];
    for (const child of sets) {
      for (const parent of sets) {
        if (!setWithin(child, parent)) continue;
        for (const name of names) if (matches(child, name)) expect(matches(parent, name)).toBe(true);
      }
    }
    expect(setWithin({ prefix: 'ab' }, { prefix: 'a' })).toBe(true);
    expect(setWithin({ prefix: 'a' }, { prefix: 'ab' })).toBe(false);
    expect(setWithin({ exact: 'abc' }, { prefix: 'ab' })).toBe(true);
    expect(setWithin({ prefix: 'abc' }, { exact: 'abc' })).toBe(false);
    expect(setWithin(null, { exact: '' })).toBe(true);
  });

  it('a scope is wider than its issuer by an operation or any of the three sets', () => {
    const parent: AccessTokenScope = {
      ...none,
      basins: { prefix: 'team-' },
      streams: { prefix: '' },
      ops: ['read', 'append'],
    };
    expect(scopeWiderThan({ ...none, basins: { exact: 'team-a' }, ops: ['read'] }, parent)).toBeNull();
    expect(scopeWiderThan({ ...none, ops: ['trim'] }, parent)).toMatch(/trim/);
    expect(
      scopeWiderThan(
        { ...none, opGroups: { account: null, basin: null, stream: { read: true, write: false } } },
        parent,
      ),
    ).toMatch(/check-tail/);
    expect(scopeWiderThan({ ...none, basins: { prefix: 'tea' } }, parent)).toMatch(/basins/);
    expect(scopeWiderThan({ ...none, accessTokens: { prefix: '' } }, parent)).toMatch(/access tokens/);
    expect(scopeWiderThan(rootScope(), rootScope())).toBeNull();
  });

  it('narrows list queries before paging', () => {
    const q = { prefix: '', startAfter: '', limit: 10 };
    expect(narrowList(null, q)).toBeNull();
    expect(narrowList({ exact: '' }, q)).toBeNull();
    expect(narrowList({ prefix: '' }, q)).toEqual({ query: q });
    expect(narrowList({ prefix: 'ab' }, { ...q, prefix: 'a' })).toEqual({ query: { ...q, prefix: 'ab' } });
    expect(narrowList({ prefix: 'ab' }, { ...q, prefix: 'abc' })).toEqual({ query: { ...q, prefix: 'abc' } });
    expect(narrowList({ prefix: 'ab' }, { ...q, prefix: 'b' })).toBeNull();
    expect(narrowList({ exact: 'abc' }, { ...q, prefix: 'a' })).toEqual({
      query: { ...q, prefix: 'abc', limit: 1 },
      exact: 'abc',
    });
    expect(narrowList({ exact: 'abc' }, { ...q, startAfter: 'abc' })).toBeNull();
    expect(narrowList({ exact: 'abc' }, { ...q, prefix: 'b' })).toBeNull();
  });
});

describe('issue requests', () => {
  const ok = { id: 'tok', scope: {} };

  it('read the spec shape, dedupe ops in enum order', () => {
    const request = parseIssueRequest({
      id: 'tok',
      scope: {
        basins: { exact: 'b' },
        streams: { prefix: 's/' },
        access_tokens: null,
        op_groups: { stream: { read: true } },
        ops: ['read', 'list-basins', 'read'],
        unknown_member: 1,
      },
      auto_prefix_streams: true,
      expires_at: '2030-01-01T00:00:00Z',
    });
    expect(request).toEqual({
      id: 'tok',
      scope: {
        basins: { exact: 'b' },
        streams: { prefix: 's/' },
        accessTokens: null,
        opGroups: { account: null, basin: null, stream: { read: true, write: false } },
        ops: ['list-basins', 'read'],
      },
      autoPrefixStreams: true,
      expiresAtMs: Date.parse('2030-01-01T00:00:00Z'),
    });
    expect(parseIssueRequest(ok).expiresAtMs).toBeUndefined();
  });

  it('refuse malformed scopes, unknown operations and ids out of range with bad_json', () => {
    const bad: unknown[] = [
      { ...ok, scope: { ops: ['read', 'launch-missiles'] } },
      { ...ok, scope: { ops: 'read' } },
      { ...ok, scope: { basins: { exact: 'a', prefix: 'b' } } },
      { ...ok, scope: { basins: {} } },
      { ...ok, scope: { basins: 'a' } },
      { ...ok, scope: { streams: { prefix: 7 } } },
      { ...ok, scope: { basins: { prefix: 'x'.repeat(49) } } },
      { ...ok, scope: { op_groups: { stream: { read: 'yes' } } } },
      { ...ok, scope: { op_groups: [] } },
      { ...ok, id: '' },
      { ...ok, id: 'x'.repeat(97) },
      { ...ok, id: '..' },
      { ...ok, id: 'a\0b' },
      { ...ok, expires_at: '2030-01-01' },
      { id: 'tok' },
      [],
    ];
    for (const body of bad) {
      let error: unknown;
      try {
        parseIssueRequest(body);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(body)).toBeInstanceOf(S2Error);
      expect((error as S2Error).code).toBe('bad_json');
    }
    expect(accessTokenIdProblem('é'.repeat(48))).toBeNull();
    expect(accessTokenIdProblem('é'.repeat(49))).not.toBeNull();
  });
});

describe('bearer tokens', () => {
  const req = (rawHeaders: string[]) => ({ rawHeaders }) as unknown as Request;
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as S2Error).code;
    }
    return 'none';
  };

  it('come from exactly one Authorization header with the Bearer scheme', () => {
    expect(bearerToken(req(['Host', 'x', 'Authorization', 'Bearer abc.DEF-_~+/=']))).toBe('abc.DEF-_~+/=');
    expect(bearerToken(req(['authorization', 'bearer  tok ']))).toBe('tok');
    expect(code(() => bearerToken(req(['Host', 'x'])))).toBe('authn');
    expect(code(() => bearerToken(req(['Authorization', 'Basic dXNlcjpwdw=='])))).toBe('authn');
    expect(code(() => bearerToken(req(['Authorization', 'Bearer'])))).toBe('authn');
    expect(code(() => bearerToken(req(['Authorization', 'Bearer a b'])))).toBe('authn');
    expect(code(() => bearerToken(req(['Authorization', 'Bearer ' + 'a'.repeat(513)])))).toBe('authn');
    expect(code(() => bearerToken(req(['Authorization', 'Bearer a', 'AUTHORIZATION', 'Bearer a'])))).toBe('bad_header');
  });

  it('are minted with 256 random bits and stored as a SHA-256', () => {
    const a = mintToken();
    const b = mintToken();
    expect(a.token).toMatch(/^s2l_[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.hash).toBe(tokenHash(a.token));
    expect(a.hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.hash).not.toContain(a.token.slice(4, 20));
  });
});
