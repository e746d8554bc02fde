/**
 * Control plane for basins (api.md 3.1-3.6, 12.1).
 */
import { createHash } from 'node:crypto';
import { errors } from '../domain/errors.js';
import { canonicalJson, configsEqual, normalizeBasinConfig, patchBasinConfig, type BasinConfigPatch } from './config.js';
import type { EngineContext } from './context.js';
import { listPage, type BasinState } from './state.js';
import type { BasinConfig, BasinMeta } from '../domain/types.js';
import { validateLayer, validatePatch } from './validate-config.js';

export interface BasinInfo {
  name: string;
  createdAtMs: number;
  deletedAtMs: number | null;
}

export type ProvisionOutcome = 'created' | 'updated' | 'noop';

export interface ListQuery {
  prefix: string;
  startAfter: string;
  limit: number;
}

export function basinInfo(basin: BasinState): BasinInfo {
  return { name: basin.name, createdAtMs: basin.meta.createdAtMs, deletedAtMs: basin.meta.deletedAtMs };
}

/** Idempotency key of a create: the token and the requested config, hashed together. */
export function creationKey(requestToken: string, requestedConfig: unknown): string {
  const hash = createHash('sha256');
  for (const part of [requestToken, canonicalJson(requestedConfig)]) {
    const bytes = Buffer.from(part);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(bytes.length));
    hash.update(length).update(bytes);
  }
  return hash.digest('hex');
}

export async function listBasins(ctx: EngineContext, query: ListQuery): Promise<{ basins: BasinInfo[]; hasMore: boolean }> {
  await ctx.log.barrier();
  const page = listPage(
    [...ctx.state.basins].map(([name, basin]) => [name, basin] as [string, BasinState]),
    query,
  );
  return { basins: page.items.map(basinInfo), hasMore: page.hasMore };
}

export async function createBasin(
  ctx: EngineContext,
  name: string,
  requested: BasinConfig,
  requestToken: string | undefined,
): Promise<{ outcome: ProvisionOutcome; info: BasinInfo }> {
  const config = normalizeBasinConfig(requested);
  if (config.defaultStreamConfig) validateLayer(config.defaultStreamConfig);
  const existing = ctx.state.basins.get(name);
  if (existing) {
    await ctx.log.barrier();
    if (existing.meta.deletedAtMs !== null) throw errors.basinDeletionPending(name);
    if (requestToken !== undefined && existing.meta.creationKey === creationKey(requestToken, config)) {
      return { outcome: 'noop', info: basinInfo(existing) };
    }
    throw errors.basinExists(name);
  }
  const meta: BasinMeta = {
    config,
    createdAtMs: ctx.clock.nowMs(),
    deletedAtMs: null,
    creationKey: requestToken === undefined ? null : creationKey(requestToken, config),
  };
  const basin: BasinState = { name, meta, streams: new Map() };
  ctx.state.basins.set(name, basin);
  await ctx.log.commit([{ kind: 'basin.put', basin: name, meta }]);
  return { outcome: 'created', info: basinInfo(basin) };
}

export async function getBasinConfig(ctx: EngineContext, name: string): Promise<BasinConfig> {
  await ctx.log.barrier();
  const basin = ctx.state.basins.get(name);
  if (!basin) throw errors.basinNotFound(name);
  return basin.meta.config;
}

export async function ensureBasin(
  ctx: EngineContext,
  name: string,
  requested: BasinConfig,
): Promise<{ outcome: ProvisionOutcome; info: BasinInfo }> {
  const config = normalizeBasinConfig(requested);
  if (config.defaultStreamConfig) validateLayer(config.defaultStreamConfig);
  const existing = ctx.state.basins.get(name);
  if (!existing) {
    const meta: BasinMeta = { config, createdAtMs: ctx.clock.nowMs(), deletedAtMs: null, creationKey: null };
    const basin: BasinState = { name, meta, streams: new Map() };
    ctx.state.basins.set(name, basin);
    await ctx.log.commit([{ kind: 'basin.put', basin: name, meta }]);
    return { outcome: 'created', info: basinInfo(basin) };
  }
  if (existing.meta.deletedAtMs !== null) throw errors.basinDeletionPending(name);
  if (configsEqual(existing.meta.config, config)) {
    await ctx.log.barrier();
    return { outcome: 'noop', info: basinInfo(existing) };
  }
  // Ensure replaces the whole config; creation time and idempotency key stay.
  existing.meta = { ...existing.meta, config };
  await ctx.log.commit([{ kind: 'basin.put', basin: name, meta: existing.meta }]);
  return { outcome: 'updated', info: basinInfo(existing) };
}

export async function reconfigureBasin(ctx: EngineContext, name: string, patch: BasinConfigPatch): Promise<BasinConfig> {
  // Body validation comes before the lookup (api.md 3.5).
  if (patch.defaultStreamConfig) validatePatch(patch.defaultStreamConfig);
  const basin = ctx.state.basins.get(name);
  if (!basin) throw errors.basinNotFound(name);
  if (basin.meta.deletedAtMs !== null) throw errors.basinDeletionPending(name);
  const config = normalizeBasinConfig(patchBasinConfig(basin.meta.config, patch));
  if (config.defaultStreamConfig) validateLayer(config.defaultStreamConfig);
  basin.meta = { ...basin.meta, config };
  await ctx.log.commit([{ kind: 'basin.put', basin: name, meta: basin.meta }]);
  return config;
}

/** Marks the basin deleting; the background task deletes its streams and then the basin. */
export async function deleteBasin(ctx: EngineContext, name: string): Promise<void> {
  const basin = ctx.state.basins.get(name);
  if (!basin) throw errors.basinNotFound(name);
  if (basin.meta.deletedAtMs === null) {
    basin.meta = { ...basin.meta, deletedAtMs: ctx.clock.nowMs() };
    await ctx.log.commit([{ kind: 'basin.put', basin: name, meta: basin.meta }]);
  } else {
    await ctx.log.barrier();
  }
  ctx.triggerBackground();
}
