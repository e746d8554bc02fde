/**
 * Control plane for streams (api.md 3.7-3.12, 12.2) and the stream lookup the data plane uses
 * (including auto-creation, api.md 7.6).
 */
import { errors } from '../domain/errors.js';
import { creationKey, type ListQuery, type ProvisionOutcome } from './basins.js';
import {
  configsEqual,
  layerFromResolved,
  normalizeLayer,
  patchStreamLayer,
  resolveStreamConfig,
  type StreamConfigPatch,
} from './config.js';
import type { EngineContext } from './context.js';
import { listPage, type BasinState, type StreamState } from './state.js';
import type { StreamConfig, StreamConfigLayer, StreamMeta } from '../domain/types.js';
import { validateLayer, validatePatch } from './validate-config.js';

export interface StreamInfo {
  name: string;
  createdAtMs: number;
  deletedAtMs: number | null;
  cipher: StreamMeta['cipher'];
}

export function streamInfo(stream: StreamState): StreamInfo {
  return {
    name: stream.name,
    createdAtMs: stream.meta.createdAtMs,
    deletedAtMs: stream.meta.deletedAtMs,
    cipher: stream.meta.cipher,
  };
}

export async function listStreams(
  ctx: EngineContext,
  basinName: string,
  query: ListQuery,
): Promise<{ streams: StreamInfo[]; hasMore: boolean }> {
  await ctx.log.barrier();
  // The reference does not check that the basin exists: a missing basin lists as empty.
  const basin = ctx.state.basins.get(basinName);
  if (!basin) return { streams: [], hasMore: false };
  const page = listPage(basin.streams, query);
  return { streams: page.items.map(streamInfo), hasMore: page.hasMore };
}

/** The basin a stream is being provisioned in, which must exist and not be deleting. */
function provisioningBasin(ctx: EngineContext, basinName: string): BasinState {
  const basin = ctx.state.basins.get(basinName);
  if (!basin) throw errors.basinNotFound(basinName);
  if (basin.meta.deletedAtMs !== null) throw errors.basinDeletionPending(basinName);
  return basin;
}

async function insertStream(
  ctx: EngineContext,
  basin: BasinState,
  name: string,
  config: StreamConfig,
  key: string | null,
): Promise<StreamState> {
  const now = ctx.clock.nowMs();
  const meta: StreamMeta = {
    config,
    cipher: basin.meta.config.streamCipher ?? null,
    createdAtMs: now,
    deletedAtMs: null,
    creationKey: key,
  };
  const stream: StreamState = {
    id: ctx.newStreamId(),
    basin: basin.name,
    name,
    meta,
    tail: { seqNum: 0, timestamp: 0n },
    fencingToken: '',
    trimPoint: 0,
    lastWriteMs: now,
    terminalTrimDurable: false,
  };
  ctx.state.addStream(stream);
  try {
    await ctx.log.commit([{ kind: 'stream.put', stream: stream.id, basin: basin.name, name, meta }]);
  } catch (error) {
    ctx.state.removeStream(stream);
    throw error;
  }
  return stream;
}

export async function createStream(
  ctx: EngineContext,
  basinName: string,
  name: string,
  requested: StreamConfigLayer,
  requestToken: string | undefined,
): Promise<{ outcome: ProvisionOutcome; stream: StreamState }> {
  const layer = normalizeLayer(requested);
  validateLayer(layer);
  const basin = provisioningBasin(ctx, basinName);
  const existing = basin.streams.get(name);
  if (existing) {
    await ctx.log.barrier();
    if (existing.meta.deletedAtMs !== null) throw errors.streamDeletionPending();
    // The key covers the *requested* layer, so later basin-default changes keep it valid.
    if (requestToken !== undefined && existing.meta.creationKey === creationKey(requestToken, layer)) {
      return { outcome: 'noop', stream: existing };
    }
    throw errors.streamExists(basinName, name);
  }
  const config = resolveStreamConfig(layer, basin.meta.config.defaultStreamConfig);
  const key = requestToken === undefined ? null : creationKey(requestToken, layer);
  return { outcome: 'created', stream: await insertStream(ctx, basin, name, config, key) };
}

/** A stream that exists and is not being deleted, for config reads and data-plane operations. */
export function liveStream(ctx: EngineContext, basinName: string, name: string): StreamState {
  const stream = ctx.state.stream(basinName, name);
  if (!stream) throw errors.streamNotFound(basinName, name);
  if (stream.meta.deletedAtMs !== null) throw errors.streamDeletionPending();
  return stream;
}

export async function getStreamConfig(ctx: EngineContext, basinName: string, name: string): Promise<StreamConfig> {
  await ctx.log.barrier();
  return liveStream(ctx, basinName, name).meta.config;
}

export async function ensureStream(
  ctx: EngineContext,
  basinName: string,
  name: string,
  requested: StreamConfigLayer,
): Promise<{ outcome: ProvisionOutcome; stream: StreamState }> {
  const layer = normalizeLayer(requested);
  validateLayer(layer);
  const basin = provisioningBasin(ctx, basinName);
  const config = resolveStreamConfig(layer, basin.meta.config.defaultStreamConfig);
  const existing = basin.streams.get(name);
  if (!existing) return { outcome: 'created', stream: await insertStream(ctx, basin, name, config, null) };
  if (existing.meta.deletedAtMs !== null) throw errors.streamDeletionPending();
  if (configsEqual(existing.meta.config, config)) {
    await ctx.log.barrier();
    return { outcome: 'noop', stream: existing };
  }
  existing.meta = { ...existing.meta, config };
  await ctx.log.commit([{ kind: 'stream.put', stream: existing.id, basin: basinName, name, meta: existing.meta }]);
  return { outcome: 'updated', stream: existing };
}

export async function reconfigureStream(
  ctx: EngineContext,
  basinName: string,
  name: string,
  patch: StreamConfigPatch,
): Promise<StreamConfig> {
  validatePatch(patch);
  const basin = provisioningBasin(ctx, basinName);
  const stream = liveStream(ctx, basinName, name);
  // Reset fields fall back to the basin's *current* defaults, then the system defaults.
  const layer = patchStreamLayer(layerFromResolved(stream.meta.config), patch);
  const config = resolveStreamConfig(layer, basin.meta.config.defaultStreamConfig);
  stream.meta = { ...stream.meta, config };
  await ctx.log.commit([{ kind: 'stream.put', stream: stream.id, basin: basinName, name, meta: stream.meta }]);
  return config;
}

/**
 * Deletion (api.md 12.2): a terminal trim goes through the write path (so followers see it and
 * later appends are refused), then the stream is marked deleted; the purge happens later.
 */
export async function deleteStream(ctx: EngineContext, basinName: string, name: string): Promise<void> {
  const stream = ctx.state.stream(basinName, name);
  if (!stream) throw errors.streamNotFound(basinName, name);
  if (stream.meta.deletedAtMs !== null) {
    await ctx.log.barrier();
    return;
  }
  await ctx.terminalTrim(stream);
  if (stream.meta.deletedAtMs === null) {
    stream.meta = { ...stream.meta, deletedAtMs: ctx.clock.nowMs() };
    await ctx.log.commit([{ kind: 'stream.put', stream: stream.id, basin: basinName, name, meta: stream.meta }]);
  }
  ctx.triggerBackground();
}

export type AutoCreate = 'append' | 'read' | false;

/**
 * `openStream` for a stream that exists, without a promise (the unary append's common case):
 * the stream, undefined if there is none (then `openStream` decides), 409 if it is being deleted.
 */
export function existingStream(ctx: EngineContext, basinName: string, name: string): StreamState | undefined {
  const existing = ctx.state.stream(basinName, name);
  if (existing && (existing.meta.deletedAtMs !== null || existing.trimPoint >= Number.MAX_SAFE_INTEGER)) {
    throw errors.streamDeletionPending();
  }
  return existing;
}

/**
 * The stream a data-plane operation addresses, creating it if the basin allows (api.md 7.6).
 * `requested` is the optional `s2-stream-config` layer used only when this call creates it.
 */
export async function openStream(
  ctx: EngineContext,
  basinName: string,
  name: string,
  autoCreate: AutoCreate,
  requested: StreamConfigLayer = {},
): Promise<StreamState> {
  const existing = existingStream(ctx, basinName, name);
  if (existing) return existing;
  const basin = ctx.state.basins.get(basinName);
  if (!basin) throw errors.basinNotFound(basinName);
  const allowed =
    (autoCreate === 'append' && basin.meta.config.createStreamOnAppend) ||
    (autoCreate === 'read' && basin.meta.config.createStreamOnRead);
  if (!allowed) throw errors.streamNotFound(basinName, name);
  if (basin.meta.deletedAtMs !== null) throw errors.basinDeletionPending(basinName);
  const layer = normalizeLayer(requested);
  validateLayer(layer);
  const config = resolveStreamConfig(layer, basin.meta.config.defaultStreamConfig);
  return insertStream(ctx, basin, name, config, null);
}
