/**
 * The declarative resource spec shared by `serve --init-file` and `apply`: basins and streams
 * with their configs (lite-internals 4.2). Durations are human strings (`"7d"`, `"1h"`).
 * Strict: unknown fields are rejected so typos do not silently do nothing.
 */
import { readFileSync } from 'node:fs';
import type { BasinConfig, StreamConfigLayer } from '../domain/types.js';
import { basinNameProblem, streamNameProblem } from '../engine/names.js';
import { parseDurationMs } from '../util/units.js';

export interface ResourceSpec {
  basins: { name: string; config: BasinConfig; streams: { name: string; config: StreamConfigLayer }[] }[];
}

type Obj = Record<string, unknown>;

function object(value: unknown, path: string, allowed: string[]): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: expected an object`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new Error(`${path}: unknown field \`${key}\` (expected one of ${allowed.join(', ')})`);
  }
  return value as Obj;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw new Error(`${path}: expected one of ${allowed.join(', ')}`);
  return value as T;
}

function bool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`${path}: expected true or false`);
  return value;
}

function seconds(value: unknown, path: string): number {
  if (typeof value !== 'string') throw new Error(`${path}: expected a duration such as "7d" or "1h"`);
  return Math.floor(parseDurationMs(value) / 1000);
}

/** Parses one stream config layer in spec shape (also used for the CLI's config flags). */
export function streamConfig(value: unknown, path: string): StreamConfigLayer {
  if (value === undefined || value === null) return {};
  const obj = object(value, path, ['storage_class', 'retention_policy', 'timestamping', 'delete_on_empty']);
  const layer: StreamConfigLayer = {};
  if (obj.storage_class != null) layer.storageClass = oneOf(obj.storage_class, ['standard', 'express'] as const, `${path}.storage_class`);
  if (obj.retention_policy != null) {
    if (obj.retention_policy === 'infinite') {
      layer.retentionPolicy = { kind: 'infinite' };
    } else {
      const ageSecs = seconds(obj.retention_policy, `${path}.retention_policy`);
      if (ageSecs <= 0) throw new Error(`${path}.retention_policy: must be greater than 0 seconds`);
      layer.retentionPolicy = { kind: 'age', ageSecs };
    }
  }
  if (obj.timestamping != null) {
    const ts = object(obj.timestamping, `${path}.timestamping`, ['mode', 'uncapped']);
    layer.timestamping = {};
    if (ts.mode != null) {
      layer.timestamping.mode = oneOf(ts.mode, ['client-prefer', 'client-require', 'arrival'] as const, `${path}.timestamping.mode`);
    }
    if (ts.uncapped != null) layer.timestamping.uncapped = bool(ts.uncapped, `${path}.timestamping.uncapped`);
  }
  if (obj.delete_on_empty != null) {
    const doe = object(obj.delete_on_empty, `${path}.delete_on_empty`, ['min_age']);
    layer.deleteOnEmpty = { minAgeSecs: doe.min_age == null ? 0 : seconds(doe.min_age, `${path}.delete_on_empty.min_age`) };
  }
  return layer;
}

/** Parses a basin config in spec shape; omitted flags are false, as in an ensure (full replace). */
export function basinConfig(value: unknown, path: string): BasinConfig {
  const config: BasinConfig = { createStreamOnAppend: false, createStreamOnRead: false };
  if (value === undefined || value === null) return config;
  const obj = object(value, path, ['default_stream_config', 'stream_cipher', 'create_stream_on_append', 'create_stream_on_read']);
  const layer = streamConfig(obj.default_stream_config, `${path}.default_stream_config`);
  if (Object.keys(layer).length > 0) config.defaultStreamConfig = layer;
  if (obj.stream_cipher != null) config.streamCipher = oneOf(obj.stream_cipher, ['aegis-256', 'aes-256-gcm'] as const, `${path}.stream_cipher`);
  if (obj.create_stream_on_append != null) config.createStreamOnAppend = bool(obj.create_stream_on_append, `${path}.create_stream_on_append`);
  if (obj.create_stream_on_read != null) config.createStreamOnRead = bool(obj.create_stream_on_read, `${path}.create_stream_on_read`);
  return config;
}

export function parseResourceSpec(value: unknown): ResourceSpec {
  const root = object(value, 'spec', ['basins']);
  if (!Array.isArray(root.basins)) throw new Error('spec.basins: expected an array');
  const seenBasins = new Set<string>();
  const basins = root.basins.map((rawBasin, i) => {
    const path = `spec.basins[${i}]`;
    const basin = object(rawBasin, path, ['name', 'config', 'streams']);
    if (typeof basin.name !== 'string') throw new Error(`${path}.name: expected a string`);
    const problem = basinNameProblem(basin.name);
    if (problem) throw new Error(`${path}.name: ${problem}`);
    if (seenBasins.has(basin.name)) throw new Error(`${path}.name: duplicate basin \`${basin.name}\``);
    seenBasins.add(basin.name);
    const rawStreams = basin.streams ?? [];
    if (!Array.isArray(rawStreams)) throw new Error(`${path}.streams: expected an array`);
    const seenStreams = new Set<string>();
    const streams = rawStreams.map((rawStream, j) => {
      const streamPath = `${path}.streams[${j}]`;
      const stream = object(rawStream, streamPath, ['name', 'config']);
      if (typeof stream.name !== 'string') throw new Error(`${streamPath}.name: expected a string`);
      const streamProblem = streamNameProblem(stream.name);
      if (streamProblem) throw new Error(`${streamPath}.name: ${streamProblem}`);
      if (seenStreams.has(stream.name)) throw new Error(`${streamPath}.name: duplicate stream \`${stream.name}\``);
      seenStreams.add(stream.name);
      return { name: stream.name, config: streamConfig(stream.config, `${streamPath}.config`) };
    });
    return { name: basin.name, config: basinConfig(basin.config, `${path}.config`), streams };
  });
  return { basins };
}

export function loadResourceSpec(path: string): ResourceSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read spec file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`spec file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseResourceSpec(json);
}
