/**
 * Basin and stream configuration on the command line. Flags are turned into the spec shape of
 * `spec.ts` and validated there (one set of rules for `--init-file`, `apply` and the flags), then
 * converted to the SDK's types. Configs are printed back in the same spec shape, so the output of
 * `get-stream-config` can be pasted into an `apply` file.
 */
import type { BasinConfig as SdkBasinConfig, StreamConfig as SdkStreamConfig } from '@s2-dev/streamstore';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { BasinConfig, StreamConfigLayer } from '../domain/types.js';
import { streamConfig } from '../lite/spec.js';
import { UsageError } from './client.js';
import { parseDurationArg } from './args.js';

export function parseBool(text: string): boolean {
  if (/^(true|yes|1|on)$/i.test(text)) return true;
  if (/^(false|no|0|off)$/i.test(text)) return false;
  throw new InvalidArgumentError('expected true or false');
}

/** Checks a duration flag early (so the error names the flag) but keeps the text for spec.ts. */
function durationText(text: string): string {
  parseDurationArg(text);
  return text;
}

export interface StreamConfigFlags {
  storageClass?: string;
  retentionPolicy?: string;
  timestampingMode?: string;
  timestampingUncapped?: boolean;
  deleteOnEmptyMinAge?: string;
}

export interface BasinConfigFlags extends StreamConfigFlags {
  createStreamOnAppend?: boolean;
  createStreamOnRead?: boolean;
}

/** The stream config flags; for a basin they describe its default stream config. */
export function addStreamConfigOptions(command: Command, forBasin = false): Command {
  const of = forBasin ? 'default for new streams: ' : '';
  return command
    .addOption(new Option('--storage-class <class>', `${of}storage class`).choices(['standard', 'express']))
    .option(
      '--retention-policy <age>',
      `${of}how long records are kept: a duration such as 7d or 1h, or infinite`,
      (v: string) => (v === 'infinite' ? v : durationText(v)),
    )
    .addOption(
      new Option('--timestamping-mode <mode>', `${of}timestamping mode`).choices([
        'client-prefer',
        'client-require',
        'arrival',
      ]),
    )
    .addOption(
      new Option('--timestamping-uncapped [bool]', `${of}allow client timestamps ahead of the arrival time`)
        .preset('true')
        .argParser(parseBool),
    )
    .option(
      '--delete-on-empty-min-age <duration>',
      `${of}delete the stream once empty for this long (0s disables)`,
      durationText,
    );
}

export function addBasinConfigOptions(command: Command): Command {
  addStreamConfigOptions(command, true);
  return command
    .addOption(
      new Option('--create-stream-on-append [bool]', 'create missing streams on append')
        .preset('true')
        .argParser(parseBool),
    )
    .addOption(
      new Option('--create-stream-on-read [bool]', 'create missing streams on read')
        .preset('true')
        .argParser(parseBool),
    );
}

/** Spec-shaped stream config from flags; `undefined` when no flag was given. */
function streamSpecFromFlags(flags: StreamConfigFlags): Record<string, unknown> | undefined {
  const spec: Record<string, unknown> = {};
  if (flags.storageClass !== undefined) spec.storage_class = flags.storageClass;
  if (flags.retentionPolicy !== undefined) spec.retention_policy = flags.retentionPolicy;
  if (flags.timestampingMode !== undefined || flags.timestampingUncapped !== undefined) {
    spec.timestamping = { mode: flags.timestampingMode, uncapped: flags.timestampingUncapped };
  }
  if (flags.deleteOnEmptyMinAge !== undefined) spec.delete_on_empty = { min_age: flags.deleteOnEmptyMinAge };
  return Object.keys(spec).length > 0 ? spec : undefined;
}

function validated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    // spec.ts names paths like `flags.retention_policy`; say which flag instead.
    const message = (error as Error).message.replace(/^flags\.([a-z_.]+)/, (_, path: string) => {
      const flag = path
        .replace('timestamping.', 'timestamping_')
        .replace('delete_on_empty.min_age', 'delete_on_empty_min_age');
      return `--${flag.replace(/_/g, '-')}`;
    });
    throw new UsageError(message);
  }
}

/** SDK stream config from flags, or `undefined` when none was given. */
export function streamConfigFromFlags(flags: StreamConfigFlags): SdkStreamConfig | undefined {
  const spec = streamSpecFromFlags(flags);
  if (!spec) return undefined;
  return layerToSdk(validated(() => streamConfig(spec, 'flags')));
}

export function basinConfigFromFlags(flags: BasinConfigFlags): SdkBasinConfig {
  const config: SdkBasinConfig = {};
  const defaults = streamConfigFromFlags(flags);
  if (defaults) config.defaultStreamConfig = defaults;
  if (flags.createStreamOnAppend !== undefined) config.createStreamOnAppend = flags.createStreamOnAppend;
  if (flags.createStreamOnRead !== undefined) config.createStreamOnRead = flags.createStreamOnRead;
  return config;
}

export function layerToSdk(layer: StreamConfigLayer): SdkStreamConfig {
  const config: SdkStreamConfig = {};
  if (layer.storageClass) config.storageClass = layer.storageClass;
  if (layer.retentionPolicy) {
    config.retentionPolicy =
      layer.retentionPolicy.kind === 'infinite' ? { infinite: {} } : { ageSecs: layer.retentionPolicy.ageSecs };
  }
  if (layer.timestamping) {
    config.timestamping = {};
    if (layer.timestamping.mode) config.timestamping.mode = layer.timestamping.mode;
    if (layer.timestamping.uncapped !== undefined) config.timestamping.uncapped = layer.timestamping.uncapped;
  }
  if (layer.deleteOnEmpty) config.deleteOnEmpty = { minAgeSecs: layer.deleteOnEmpty.minAgeSecs };
  return config;
}

export function basinConfigToSdk(config: BasinConfig): SdkBasinConfig {
  const sdk: SdkBasinConfig = {
    createStreamOnAppend: config.createStreamOnAppend,
    createStreamOnRead: config.createStreamOnRead,
  };
  if (config.defaultStreamConfig) sdk.defaultStreamConfig = layerToSdk(config.defaultStreamConfig);
  if (config.streamCipher) sdk.streamCipher = config.streamCipher;
  return sdk;
}

/** Seconds as the shortest exact human duration: 604800 -> "7d", 5400 -> "90m", 0 -> "0s". */
export function formatDuration(totalSecs: number): string {
  if (totalSecs === 0) return '0s';
  for (const [unit, secs] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (totalSecs % secs === 0) return `${totalSecs / secs}${unit}`;
  }
  return `${totalSecs}s`;
}

type SpecObject = Record<string, unknown>;

/** An SDK stream config in spec shape; unset fields are left out. */
export function streamConfigToSpec(config: SdkStreamConfig | null | undefined): SpecObject {
  const spec: SpecObject = {};
  if (!config) return spec;
  if (config.storageClass) spec.storage_class = config.storageClass;
  const retention = config.retentionPolicy;
  if (retention) spec.retention_policy = 'infinite' in retention ? 'infinite' : formatDuration(retention.ageSecs);
  const ts = config.timestamping;
  if (ts && (ts.mode != null || ts.uncapped != null)) {
    const timestamping: SpecObject = {};
    if (ts.mode != null) timestamping.mode = ts.mode;
    if (ts.uncapped != null) timestamping.uncapped = ts.uncapped;
    spec.timestamping = timestamping;
  }
  if (config.deleteOnEmpty) spec.delete_on_empty = { min_age: formatDuration(config.deleteOnEmpty.minAgeSecs ?? 0) };
  return spec;
}

export function basinConfigToSpec(config: SdkBasinConfig): SpecObject {
  const spec: SpecObject = {
    create_stream_on_append: config.createStreamOnAppend ?? false,
    create_stream_on_read: config.createStreamOnRead ?? false,
  };
  const defaults = streamConfigToSpec(config.defaultStreamConfig);
  if (Object.keys(defaults).length > 0) spec.default_stream_config = defaults;
  if (config.streamCipher) spec.stream_cipher = config.streamCipher;
  return spec;
}
