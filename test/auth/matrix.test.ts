/**
 * The authorization matrix: every operation of the spec's `Operation` enum is tried with tokens
 * that allow it (by `ops`, by its `op_groups` group) and tokens that do not (every other
 * operation, every other group, the operation but names outside its resource sets), by resource
 * sets exact, prefix, empty prefix (all), empty exact and absent (none), and with auto-prefixed
 * streams (the client's names without the prefix), over unary
 * HTTP/1.1 and h2c; `read` also over SSE and S2S, `append`/`trim`/`fence` also over S2S append
 * sessions (through the official SDK). Allowed means the operation's own outcome (200, or the
 * 404/409/501 it gives for these names), denied means 403 `permission_denied` with no effect.
 * One server, one token per cell, table-driven.
 */
import { AppendInput, AppendRecord, S2Error } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationGroup, operations, type Operation } from '../../src/domain/access-tokens.js';
import { closeHttp2Sessions, type Protocol } from '../support/http.js';
import { call, issue, sdk, startAuthServer, type AuthServer, type Call } from './support.js';

const basin = 'matrix-basin-01';
const stream = 'm/s';
const enc = encodeURIComponent;
const inScope = { basins: { prefix: 'matrix-' }, streams: { prefix: 'm/' }, access_tokens: { prefix: 'mx-' } };
const outOfScope = { basins: { prefix: 'other-' }, streams: { prefix: 'zz/' }, access_tokens: { prefix: 'zz-' } };
let issued = 0;

type ResourceKind = 'basins' | 'streams' | 'access_tokens';

/**
 * Each operation as one request on in-scope names (streams under `p`, `m/` unless auto-prefixed), the
 * status it gets when allowed, and the sets its names are in.
 */
const actions: Record<
  Operation,
  { call: (streamPrefix?: string) => Call; allowed: number; resources: ResourceKind[] }
> = {
  'list-basins': { call: () => ({ path: '/v1/basins' }), allowed: 200, resources: [] },
  'create-basin': {
    call: () => ({ method: 'POST', path: '/v1/basins', json: { basin } }),
    allowed: 409,
    resources: ['basins'],
  },
  'delete-basin': {
    call: () => ({ method: 'DELETE', path: '/v1/basins/matrix-gone-00' }),
    allowed: 404,
    resources: ['basins'],
  },
  'reconfigure-basin': {
    call: () => ({ method: 'PATCH', path: `/v1/basins/${basin}`, json: {} }),
    allowed: 200,
    resources: ['basins'],
  },
  'get-basin-config': { call: () => ({ path: `/v1/basins/${basin}` }), allowed: 200, resources: ['basins'] },
  'issue-access-token': {
    call: () => ({ method: 'POST', path: '/v1/access-tokens', json: { id: `mx-${++issued}`, scope: {} } }),
    allowed: 201,
    resources: ['access_tokens'],
  },
  'revoke-access-token': {
    call: () => ({ method: 'DELETE', path: '/v1/access-tokens/mx-none' }),
    allowed: 404,
    resources: ['access_tokens'],
  },
  'list-access-tokens': { call: () => ({ path: '/v1/access-tokens' }), allowed: 200, resources: [] },
  'list-streams': { call: () => ({ path: '/v1/streams', basin }), allowed: 200, resources: ['basins'] },
  'create-stream': {
    call: (p = 'm/') => ({ method: 'POST', path: '/v1/streams', basin, json: { stream: `${p}s` } }),
    allowed: 409,
    resources: ['basins', 'streams'],
  },
  'delete-stream': {
    call: (p = 'm/') => ({ method: 'DELETE', path: `/v1/streams/${enc(`${p}gone`)}`, basin }),
    allowed: 404,
    resources: ['basins', 'streams'],
  },
  'get-stream-config': {
    call: (p = 'm/') => ({ path: `/v1/streams/${enc(`${p}s`)}`, basin }),
    allowed: 200,
    resources: ['basins', 'streams'],
  },
  'reconfigure-stream': {
    call: (p = 'm/') => ({ method: 'PATCH', path: `/v1/streams/${enc(`${p}s`)}`, basin, json: {} }),
    allowed: 200,
    resources: ['basins', 'streams'],
  },
  'check-tail': {
    call: (p = 'm/') => ({ path: `/v1/streams/${enc(`${p}s`)}/records/tail`, basin }),
    allowed: 200,
    resources: ['basins', 'streams'],
  },
  append: {
    call: (p = 'm/') => appendCall(p, { records: [{ body: 'x' }] }),
    allowed: 200,
    resources: ['basins', 'streams'],
  },
  read: {
    call: (p = 'm/') => ({ path: `/v1/streams/${enc(`${p}s`)}/records?seq_num=0&count=1`, basin }),
    allowed: 200,
    resources: ['basins', 'streams'],
  },
  // A trim to 0 and a fence to "" change nothing, so they can be repeated.
  trim: {
    call: (p = 'm/') => appendCall(p, { records: [{ headers: [['', 'dHJpbQ==']], body: 'AAAAAAAAAAA=' }] }, 'base64'),
    allowed: 200,
    resources: ['basins', 'streams'],
  },
  fence: {
    call: (p = 'm/') => appendCall(p, { records: [{ headers: [['', 'fence']] }] }),
    allowed: 200,
    resources: ['basins', 'streams'],
  },
  'account-metrics': { call: () => ({ path: '/v1/metrics?set=active-basins' }), allowed: 501, resources: [] },
  'basin-metrics': { call: () => ({ path: `/v1/metrics/${basin}?set=storage` }), allowed: 501, resources: ['basins'] },
  'stream-metrics': {
    call: (p = 'm/') => ({ path: `/v1/metrics/${basin}/${enc(`${p}s`)}?set=storage` }),
    allowed: 501,
    resources: ['basins', 'streams'],
  },
  'list-locations': { call: () => ({ path: '/v1/locations' }), allowed: 501, resources: [] },
  'get-default-location': { call: () => ({ path: '/v1/locations/default' }), allowed: 501, resources: [] },
  'set-default-location': {
    call: () => ({ method: 'PUT', path: '/v1/locations/default', json: 'aws:us-east-1' }),
    allowed: 501,
    resources: [],
  },
};

function appendCall(p: string, json: unknown, format?: string): Call {
  return {
    method: 'POST',
    path: `/v1/streams/${enc(`${p}s`)}/records`,
    basin,
    json,
    ...(format && { headers: { 's2-format': format } }),
  };
}

const groupsOf = (bits: { level: string; access: string }[]) => {
  const groups: Record<string, { read: boolean; write: boolean }> = {};
  for (const { level, access } of bits) {
    groups[level] ??= { read: false, write: false };
    groups[level]![access as 'read' | 'write'] = true;
  }
  return groups;
};
const allGroupBits = ['account', 'basin', 'stream'].flatMap((level) =>
  ['read', 'write'].map((access) => ({ level, access })),
);

let server: AuthServer;
/** Per operation: tokens that allow it and tokens that must be refused. */
const tokens = new Map<
  Operation,
  { allow: Record<string, string>; deny: Record<string, string>; autoPrefixed: string | undefined }
>();

/** The one name of `kind` that `op`'s request touches, for a token with exact sets. */
function exactName(op: Operation, kind: ResourceKind): string {
  if (kind === 'basins') return op === 'delete-basin' ? 'matrix-gone-00' : basin;
  if (kind === 'streams') return op === 'delete-stream' ? 'm/gone' : stream;
  return 'mx-none';
}

beforeAll(async () => {
  server = await startAuthServer();
  const root = sdk(server, server.root);
  await root.basins.create({ basin });
  await root.basins.create({ basin: 'other-basin-01' });
  await root.basin(basin).streams.create({ stream });
  await root
    .basin(basin)
    .stream(stream)
    .append(AppendInput.create([AppendRecord.string({ body: 'first' })]));
  for (const op of operations) {
    const { level, access } = operationGroup[op];
    const others = allGroupBits.filter((b) => b.level !== level || b.access !== access);
    const [onlyOp, group, allBut, otherGroups] = await Promise.all([
      issue(server, { id: `only-${op}`, scope: { ...inScope, ops: [op] } }),
      issue(server, { id: `group-${op}`, scope: { ...inScope, op_groups: groupsOf([{ level, access }]) } }),
      issue(server, { id: `all-but-${op}`, scope: { ...inScope, ops: operations.filter((o) => o !== op) } }),
      issue(server, { id: `other-groups-${op}`, scope: { ...inScope, op_groups: groupsOf(others) } }),
    ]);
    const allow: Record<string, string> = { ops: onlyOp, op_groups: group };
    const everything = { basins: { prefix: '' }, streams: { prefix: '' }, access_tokens: { prefix: '' } };
    allow['empty prefixes (all names)'] = await issue(server, {
      id: `all-names-${op}`,
      scope: { ...everything, ops: [op] },
    });
    const exact: Record<string, { exact: string }> = {};
    for (const kind of actions[op].resources) {
      // An issued id differs at every call: that set stays a prefix.
      if (op !== 'issue-access-token') exact[kind] = { exact: exactName(op, kind) };
    }
    allow['exact names'] = await issue(server, { id: `exact-${op}`, scope: { ...inScope, ...exact, ops: [op] } });
    const deny: Record<string, string> = { 'every other operation': allBut, 'every other group': otherGroups };
    // One set at a time outside, so each check is proven on its own.
    for (const kind of actions[op].resources) {
      const outside = { ...inScope, [kind]: outOfScope[kind], ops: [op] };
      deny[`${kind} outside the scope`] = await issue(server, { id: `outside-${kind}-${op}`, scope: outside });
      const none = { ...inScope, [kind]: { exact: '' }, ops: [op] };
      deny[`${kind} empty exact (no names)`] = await issue(server, { id: `none-${kind}-${op}`, scope: none });
      const absent: Record<string, unknown> = { ...inScope, ops: [op] };
      delete absent[kind];
      deny[`${kind} absent (no names)`] = await issue(server, { id: `absent-${kind}-${op}`, scope: absent });
    }
    // Auto-prefixed: the client names `s` for the stored `m/s`.
    const autoPrefixed = actions[op].resources.includes('streams')
      ? await issue(server, { id: `auto-${op}`, scope: { ...inScope, ops: [op] }, auto_prefix_streams: true })
      : undefined;
    tokens.set(op, { allow, deny, autoPrefixed });
  }
});

afterAll(async () => {
  closeHttp2Sessions();
  await server?.stop();
});

describe.each(['h1', 'h2c'] as Protocol[])('unary over %s', (protocol) => {
  it.each([...operations])('%s: allowed by ops and by its group, denied otherwise', async (op) => {
    const { allow, deny } = tokens.get(op)!;
    for (const [how, token] of Object.entries(allow)) {
      const res = await call(server, token, actions[op].call(), protocol);
      expect(res.status, `${op} allowed by ${how}: ${res.text}`).toBe(actions[op].allowed);
    }
    const { autoPrefixed } = tokens.get(op)!;
    if (autoPrefixed !== undefined) {
      const res = await call(server, autoPrefixed, actions[op].call(''), protocol);
      expect(res.status, `${op} allowed with auto-prefixed streams: ${res.text}`).toBe(actions[op].allowed);
    }
    for (const [how, token] of Object.entries(deny)) {
      const res = await call(server, token, actions[op].call(), protocol);
      expect(res.status, `${op} denied: ${how}: ${res.text}`).toBe(403);
      expect(res.json().code).toBe('permission_denied');
    }
  });
});

describe('denials have no effect; lists show only what a token may see', () => {
  it('a denied create, delete or append changes nothing', async () => {
    const outside = tokens.get('create-basin')!.deny['basins outside the scope']!;
    expect(
      (await call(server, outside, { method: 'POST', path: '/v1/basins', json: { basin: 'matrix-new-01' } })).status,
    ).toBe(403);
    const allBut = tokens.get('delete-basin')!.deny['every other operation']!;
    expect((await call(server, allBut, { method: 'DELETE', path: `/v1/basins/${basin}` })).status).toBe(403);
    const tail = async () => (await call(server, server.root, actions['check-tail'].call())).json().tail.seq_num;
    const before = await tail();
    expect(
      (await call(server, tokens.get('append')!.deny['every other operation']!, actions.append.call())).status,
    ).toBe(403);
    expect(await tail()).toBe(before);
    const names = (await call(server, server.root, { path: '/v1/basins' })).json().basins.map((b: any) => b.name);
    expect(names).toEqual([basin, 'other-basin-01']);
  });

  it('list-basins, list-streams and list-access-tokens filter by the resource sets', async () => {
    const list = async (op: Operation, token: string, key: string) =>
      (await call(server, token, actions[op].call())).json()[key].map((item: any) => item.name ?? item.id);
    expect(await list('list-basins', tokens.get('list-basins')!.allow.ops!, 'basins')).toEqual([basin]);
    expect(
      await list(
        'list-basins',
        await issue(server, { id: 'lb-out', scope: { ...outOfScope, ops: ['list-basins'] } }),
        'basins',
      ),
    ).toEqual(['other-basin-01']);
    await sdk(server, server.root).basin(basin).streams.create({ stream: 'not-m' });
    expect(await list('list-streams', tokens.get('list-streams')!.allow.ops!, 'streams')).toEqual([stream]);
    const ids = await list('list-access-tokens', tokens.get('list-access-tokens')!.allow.ops!, 'access_tokens');
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id: string) => id.startsWith('mx-'))).toBe(true);
  });

  it('append needs append for records, fence for fence commands, trim for trim commands', async () => {
    const onlyTrim = tokens.get('trim')!.allow.ops!;
    expect((await call(server, onlyTrim, actions.trim.call())).status).toBe(200);
    expect((await call(server, onlyTrim, actions.fence.call())).status).toBe(403);
    expect((await call(server, onlyTrim, actions.append.call())).status).toBe(403);
    const onlyAppend = tokens.get('append')!.allow.ops!;
    expect((await call(server, onlyAppend, actions.trim.call())).status).toBe(403);
  });

  it('ensure (PUT) needs both create and reconfigure', async () => {
    const both = await issue(server, {
      id: 'ensure-both',
      scope: { ...inScope, ops: ['create-stream', 'reconfigure-stream'] },
    });
    const put = { method: 'PUT', path: `/v1/streams/${enc(stream)}`, basin };
    expect((await call(server, both, put)).status).toBe(200);
    expect((await call(server, tokens.get('create-stream')!.allow.ops!, put)).status).toBe(403);
    expect((await call(server, tokens.get('reconfigure-stream')!.allow.ops!, put)).status).toBe(403);
  });
});

/** The status of an SDK call: 200 if it succeeds, else the S2Error's status. */
async function sdkStatus(run: () => Promise<unknown>): Promise<number> {
  try {
    await run();
    return 200;
  } catch (error) {
    if (error instanceof S2Error && error.status !== undefined) return error.status;
    throw error;
  }
}

describe('sessions', () => {
  const sseRead = (token: string) =>
    call(server, token, { ...actions.read.call(), headers: { accept: 'text/event-stream' } });

  it('read over SSE: allowed and denied', async () => {
    for (const token of Object.values(tokens.get('read')!.allow)) {
      const res = await sseRead(token);
      expect(res.status).toBe(200);
      expect(res.text).toContain('event: batch');
    }
    for (const token of Object.values(tokens.get('read')!.deny)) expect((await sseRead(token)).status).toBe(403);
  });

  it('read over S2S (SDK): allowed and denied', async () => {
    const read = (token: string) =>
      sdkStatus(async () => {
        const s = sdk(server, token).basin(basin).stream(stream, { forceTransport: 's2s' });
        const session = await s.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 1 } } });
        let n = 0;
        for await (const _ of session) n++;
        expect(n).toBe(1);
      });
    for (const token of Object.values(tokens.get('read')!.allow)) expect(await read(token)).toBe(200);
    for (const token of Object.values(tokens.get('read')!.deny)) expect(await read(token)).toBe(403);
  });

  it('append, trim and fence over S2S append sessions (SDK): allowed and denied, per input', async () => {
    const records: Record<'append' | 'trim' | 'fence', () => AppendRecord> = {
      append: () => AppendRecord.string({ body: 's2s' }),
      trim: () => AppendRecord.trim(0),
      fence: () => AppendRecord.fence(''),
    };
    const session = (token: string, record: AppendRecord) =>
      sdkStatus(async () => {
        const s = sdk(server, token).basin(basin).stream(stream, { forceTransport: 's2s' });
        const appendSession = await s.appendSession();
        try {
          await (await appendSession.submit(AppendInput.create([record]))).ack();
        } finally {
          await appendSession.close().catch(() => {});
        }
      });
    for (const op of ['append', 'trim', 'fence'] as const) {
      for (const token of Object.values(tokens.get(op)!.allow))
        expect(await session(token, records[op]()), op).toBe(200);
      for (const [how, token] of Object.entries(tokens.get(op)!.deny)) {
        expect(await session(token, records[op]()), `${op}: ${how}`).toBe(403);
      }
    }
    // The route admits a trim-only token; its first record that is not a trim ends the session with 403.
    expect(await session(tokens.get('trim')!.allow.ops!, records.append())).toBe(403);
  });
});
