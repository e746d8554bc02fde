/**
 * Proves access tokens are durable in the log like basins and streams: the three token mutations
 * round-trip through the commit codec, a version 2 manifest and snapshot carry the tokens and the
 * root token hash, corrupt or unknown token records are refused rather than guessed at, and a log
 * reopened from chunks alone or from a checkpointed manifest recovers exactly the unrevoked tokens.
 */
import { describe, expect, it } from 'vitest';
import type { AccessTokenMeta } from '../../src/domain/access-tokens.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ByteReader, CorruptDataError } from '../../src/storage/binary.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import {
  decodeManifest,
  emptySnapshot,
  encodeManifest,
  manifestFormatVersion,
  snapshotJson,
} from '../../src/storage/codec-manifest.js';
import { decodeCommit, encodeCommit } from '../../src/storage/codec-mutation.js';
import { persistAccessToken, readAccessToken } from '../../src/storage/codec-access-token.js';
import type { Mutation } from '../../src/storage/types.js';

const hashA = 'A'.repeat(43);
const hashB = 'b_-'.repeat(14) + 'x';

const tokenA: AccessTokenMeta = {
  scope: {
    basins: { exact: 'my-basin-01' },
    streams: { prefix: 'tenant/' },
    accessTokens: null,
    opGroups: { account: null, basin: { read: true, write: false }, stream: { read: true, write: true } },
    ops: ['list-basins', 'trim'],
  },
  autoPrefixStreams: true,
  expiresAtMs: 1_900_000_000_000,
  issuedAtMs: 1_700_000_000_000,
  hash: hashA,
};
const tokenB: AccessTokenMeta = {
  scope: { basins: null, streams: null, accessTokens: { prefix: '' }, opGroups: null, ops: null },
  autoPrefixStreams: false,
  expiresAtMs: null,
  issuedAtMs: 5,
  hash: hashB,
};

describe('token records', () => {
  it('round-trip in commits', () => {
    const mutations: Mutation[] = [
      { kind: 'access-token.put', id: 'app-1', meta: tokenA },
      { kind: 'access-token.put', id: 'ünïcode id', meta: tokenB },
      { kind: 'access-token.delete', id: 'app-1' },
      { kind: 'root-token.put', hash: hashB },
    ];
    expect(decodeCommit(new ByteReader(encodeCommit(mutations), 'commit'))).toStrictEqual(mutations);
  });

  it('refuse unknown members, operations, versions and malformed hashes', () => {
    const good = persistAccessToken(tokenA);
    expect(readAccessToken(JSON.parse(JSON.stringify(good)), 't')).toStrictEqual(tokenA);
    const bad = [
      { ...good, extra: 1 },
      { ...good, version: 2 },
      { ...good, hash: 'short' },
      { ...good, scope: { ...good.scope, ops: ['read', 'fly'] } },
      { ...good, scope: { ...good.scope, basins: { exact: 'a', prefix: 'b' } } },
      { ...good, scope: { ...good.scope, streams: undefined } },
      { ...good, scope: { ...good.scope, opGroups: { account: null, basin: null } } },
      { ...good, expiresAtMs: -1 },
    ];
    for (const value of bad)
      expect(() => readAccessToken(JSON.parse(JSON.stringify(value)), 't')).toThrow(CorruptDataError);
  });

  it('ride in a version 2 manifest snapshot with the root token hash', () => {
    expect(manifestFormatVersion).toBe(2);
    const snapshot = {
      ...emptySnapshot(),
      accessTokens: new Map([
        ['app-1', tokenA],
        ['other', tokenB],
      ]),
      rootTokenHash: hashB,
    };
    const header = { epoch: 1, manifestId: 3, lastAppliedChunkId: 7, lastAppliedChunkEpoch: 1 };
    const decoded = decodeManifest(encodeManifest(header, { json: snapshotJson(snapshot) }, 0), 3);
    expect(decoded.snapshot).toStrictEqual({ inline: snapshot });
  });
});

describe('a reopened log', () => {
  async function writeTokens(store: MemoryObjectStore, checkpoint: boolean): Promise<void> {
    const log = await ChunkLog.open(store);
    await log.commit([{ kind: 'root-token.put', hash: hashA }]);
    await log.commit([{ kind: 'access-token.put', id: 'keep', meta: tokenA }]);
    await log.commit([{ kind: 'access-token.put', id: 'revoked', meta: tokenB }]);
    await log.commit([{ kind: 'access-token.delete', id: 'revoked' }]);
    await log.commit([{ kind: 'root-token.put', hash: hashB }]);
    if (checkpoint) expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
    await log.close();
  }

  for (const checkpoint of [false, true]) {
    it(`recovers issued tokens and the latest root hash (${checkpoint ? 'from a manifest' : 'from chunks'})`, async () => {
      const store = new MemoryObjectStore();
      await writeTokens(store, checkpoint);
      const reopened = await ChunkLog.open(store);
      const recovered = reopened.recovered();
      expect([...recovered.accessTokens]).toStrictEqual([['keep', tokenA]]);
      expect(recovered.rootTokenHash).toBe(hashB);
      await reopened.close();
    });
  }
});
