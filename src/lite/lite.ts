/**
 * One s2-lite server as an object. `s2-lite serve` and the package entry
 * (`import { S2Lite } from 's2-lite'`) both run through here: open the store, recover the log,
 * build the engine, apply the init spec, listen; `reset()` swaps in an empty engine; `stop()`
 * shuts down gracefully (docs/embedding.md).
 *
 * The engine and log of one data set form a generation. A reset retires the current generation
 * (drain, then close: live followers end with 503 `unavailable`, appends already sequenced
 * still get their acknowledgement) and routes every later request to a fresh one.
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import { mintToken, tokenHash } from '../api/auth/token.js';
import { S2Server } from '../api/server.js';
import { Engine } from '../engine/engine.js';
import { shutdownGraceMs } from '../limits.js';
import type { ChunkLog } from '../storage/chunk-log.js';
import { StoreFailure } from '../storage/errors.js';
import { openStreamLog } from '../storage/open.js';
import {
  resolveOptions,
  type OptionNaming,
  type ResolvedOptions,
  type S2LiteOptions,
  type StorageMode,
} from './options.js';
import type { ResourceSpec } from './spec.js';
import { deleteLogObjects, refuseForeignObjects } from './wipe.js';

/** What `new S2({...})` of `@s2-dev/streamstore` needs to talk to this server. */
export interface S2LiteSdkOptions {
  accessToken: string;
  endpoints: { account: string; basin: string };
}

export interface StopOptions {
  /** Close every connection now instead of letting requests finish (default false). */
  immediate?: boolean;
  /** How long a graceful stop lets open connections finish before closing them (default 10 s). */
  graceMs?: number;
}

/**
 * After taking over an S3 store that an earlier writer used, wait one manifest poll interval
 * before serving so that a previous instance still running on the same store notices it was
 * fenced and stops serving reads. A store nobody wrote before (writer epoch 1) has no such
 * instance, and a local root has none either: its lock keeps a second server from opening it.
 */
const takeoverSettleMs = 1_000;

/** After a storage failure that reopening can cure (a full disk), the store is tried this often. */
const resumeRetryMs = 5_000;
/**
 * A local root is reopened only once its filesystem has this much room: a write-ahead log file
 * (64 MiB) and as much again for the checkpoint that folds what recovery replays.
 */
const resumeFreeBytesMin = 128 * 1024 * 1024;

/** Without `auth` lite does not authenticate, but the SDKs and the CLI insist on a token. */
const unauthenticatedToken = 'ignored';

/**
 * The root token in force (docs/security.md): the one the operator gave (its hash only in
 * memory), else the stored one, else (first start, or `rotateRootToken`) a new one whose hash is
 * stored. `token` is known only when given or generated now; `generated` says it was made now.
 */
interface RootToken {
  hash: string;
  token?: string;
  generated: boolean;
  /** The operator gave it (it replaces any stored one). */
  given: boolean;
}

async function establishRootToken(
  engine: Engine,
  options: ResolvedOptions,
  logger: Logger,
): Promise<RootToken | undefined> {
  const auth = options.auth;
  if (!auth) return undefined;
  if (auth.given) return { hash: tokenHash(auth.given.token), token: auth.given.token, generated: false, given: true };
  const stored = engine.rootTokenHash;
  if (stored !== null && !auth.rotate) return { hash: stored, generated: false, given: false };
  const { token, hash } = mintToken();
  await engine.storeRootTokenHash(hash);
  logger.info({ rotated: stored !== null }, 'auth: root token generated, its hash stored');
  return { hash, token, generated: true, given: false };
}

function storeConfig(storage: StorageMode) {
  return storage.kind === 's3' ? { kind: 's3' as const, bucket: storage.bucket, prefix: storage.prefix } : storage;
}

async function applySpec(engine: Engine, spec: ResourceSpec, logger: Logger): Promise<void> {
  for (const basin of spec.basins) {
    const { outcome } = await engine.ensureBasin(basin.name, basin.config);
    logger.info({ basin: basin.name, outcome }, 'init file: basin');
    for (const stream of basin.streams) {
      const result = await engine.ensureStream(basin.name, stream.name, stream.config);
      logger.info({ basin: basin.name, stream: stream.name, outcome: result.outcome }, 'init file: stream');
    }
  }
}

/** An engine and the log under it. */
interface Generation {
  engine: Engine;
  log: ChunkLog;
}

/** Opens the log over the configured store and builds a started engine with the init spec applied. */
async function openGeneration(options: ResolvedOptions): Promise<Generation> {
  const { storage, logger } = options;
  const log = await openStreamLog(storeConfig(storage), {
    flushIntervalMs: options.flushIntervalMs,
    logger: (event, fields) => logger.info(fields, `storage: ${event}`),
  });
  logger.info(log.stats(), 'storage recovered');
  if (storage.kind === 's3' && log.stats().epoch > 1) await new Promise((r) => setTimeout(r, takeoverSettleMs));
  const engine = new Engine(log, {
    logEvent: (event, fields) => logger.info(fields, event),
    appendInflightBytes: options.appendInflightBytes,
  });
  try {
    if (options.spec) await applySpec(engine, options.spec, logger);
  } catch (error) {
    await engine.close();
    throw error;
  }
  engine.start();
  return { engine, log };
}

/** Ends a generation: refuse new writes, end followers, let sequenced appends become durable, close. */
async function retire(engine: Engine): Promise<void> {
  await engine.drain();
  await engine.close();
}

function endpointOf(options: ResolvedOptions, port: number): string {
  const shown = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const host = shown.includes(':') ? `[${shown}]` : shown;
  return `${options.tls ? 'https' : 'http'}://${host}:${port}`;
}

export class S2Lite {
  /** The server's URL, e.g. `http://127.0.0.1:39241`: the account and the basin endpoint. */
  readonly endpoint: string;
  /** The port it listens on (the free port chosen when started with `port: 0`). */
  readonly port: number;
  /** Where the data lives. */
  readonly storage: StorageMode;
  /** True if the web console is served at `/`. */
  readonly console: boolean;
  /**
   * With `auth`: the root token, when this process knows it (given in the options, or generated
   * at this start). Undefined when it was generated at an earlier start: only its hash is stored.
   */
  readonly rootToken: string | undefined;
  /** With `auth`: how the root token came to be (`generated` at this start, `given`, or `stored`). */
  readonly rootTokenSource: 'generated' | 'given' | 'stored' | undefined;
  private readonly rootHash: string | undefined;
  private generation: Generation;
  /** reset(), stop() and resuming after a storage failure run one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: ResolvedOptions,
    private readonly server: S2Server,
    generation: Generation,
    root: RootToken | undefined,
  ) {
    this.generation = generation;
    this.watch(generation);
    this.port = server.port;
    this.endpoint = endpointOf(options, server.port);
    this.storage = options.storage;
    this.console = options.console;
    this.rootToken = root?.token;
    this.rootHash = root?.hash;
    this.rootTokenSource = root && (root.given ? 'given' : root.generated ? 'generated' : 'stored');
  }

  /** Starts a server: in memory on 127.0.0.1 and a free port unless `options` say otherwise. */
  static start(options: S2LiteOptions = {}): Promise<S2Lite> {
    return S2Lite.startWith(options, 'api');
  }

  /** @internal The command line's entry: the same, with errors naming options as `serve` flags. */
  static async startWith(options: S2LiteOptions, naming: OptionNaming): Promise<S2Lite> {
    const resolved = await resolveOptions(options, naming);
    const { logger, storage } = resolved;
    if (storage.kind === 's3') process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const generation = await openGeneration(resolved);
    let root: RootToken | undefined;
    try {
      root = await establishRootToken(generation.engine, resolved, logger);
    } catch (error) {
      await retire(generation.engine);
      throw error;
    }
    const server = new S2Server({
      engine: generation.engine,
      host: resolved.host,
      port: resolved.port,
      tls: resolved.tls,
      cors: resolved.cors,
      console: resolved.console,
      logger,
      ...(resolved.auth && {
        auth: {
          metricsAuth: resolved.auth.metricsAuth,
          // A given root token replaces the stored one; otherwise the engine's stored hash is read per request.
          ...(root?.given && { rootTokenHash: root.hash }),
        },
      }),
    });
    try {
      await server.start();
    } catch (error) {
      await retire(generation.engine);
      throw error;
    }
    const lite = new S2Lite(resolved, server, generation, root);
    const fields = {
      storage: storage.kind,
      appendInflightBytes: resolved.appendInflightBytes,
      cors: resolved.cors,
      auth: resolved.auth !== undefined,
    };
    logger.info({ endpoint: lite.endpoint, ...fields }, 'listening');
    return lite;
  }

  /** Options for the official SDK: `new S2(lite.sdkOptions)`. */
  get sdkOptions(): S2LiteSdkOptions {
    return { accessToken: this.accessToken, endpoints: { account: this.endpoint, basin: this.endpoint } };
  }

  /** What clients should send: the root token with `auth` (when known), else the conventional `ignored`. */
  private get accessToken(): string {
    return this.rootToken ?? unauthenticatedToken;
  }

  /**
   * The environment the S2 CLI and SDKs read (`S2Environment.parse()`), as `s2-lite serve` prints it;
   * with a self-signed certificate also `S2_SSL_NO_VERIFY=1`.
   */
  get env(): Record<string, string> {
    const env: Record<string, string> = {
      S2_ACCOUNT_ENDPOINT: this.endpoint,
      S2_BASIN_ENDPOINT: this.endpoint,
      S2_ACCESS_TOKEN: this.accessToken,
    };
    // A root token generated at an earlier start is not known any more: no line rather than a wrong one.
    if (this.rootTokenSource === 'stored') delete env.S2_ACCESS_TOKEN;
    if (this.options.tlsSelfSigned) env.S2_SSL_NO_VERIFY = '1';
    return env;
  }

  /**
   * Deletes every basin, stream, record and issued access token, then applies the init spec
   * again, without a restart (the root token stays the same).
   * Requests that arrive after it resolves see only that. Live read sessions and long polls end
   * with 503 `unavailable`; an open append session fails the same way at its next append;
   * appends already sequenced are acknowledged (their records are gone with the rest).
   * On local disk or S3 it deletes the log's objects (requests meanwhile get 503), and refuses,
   * changing nothing, if the directory or prefix holds objects s2-lite did not write.
   */
  reset(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopping) throw new Error('s2-lite: reset() after stop()');
      const { logger, storage } = this.options;
      const old = this.generation.engine;
      if (storage.kind === 'memory') {
        // A fresh memory store: swap first, so no request ever waits for the old one to retire.
        this.swap(await this.freshGeneration());
        await retire(old);
      } else {
        const config = storeConfig(storage);
        await refuseForeignObjects(config);
        // One writer per store: the old log must be closed before its objects go.
        await retire(old);
        await deleteLogObjects(config);
        this.swap(await this.freshGeneration());
      }
      logger.info({ storage: storage.kind }, 'reset');
    });
  }

  /**
   * Stops accepting connections, lets sequenced appends become durable and be acknowledged, ends
   * sessions, waits (up to `graceMs`) for connections to finish and closes the log. Calling it
   * again returns the same promise.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.stopping ??= this.serialize(async () => {
      clearTimeout(this.resumeTimer);
      const graceMs = options.immediate ? 0 : (options.graceMs ?? shutdownGraceMs);
      const closing = this.server.close(graceMs);
      await this.generation.engine.drain();
      await closing;
      await this.generation.engine.close();
      this.options.logger.info('stopped');
    });
    return this.stopping;
  }

  private swap(generation: Generation): void {
    this.generation = generation;
    this.server.useEngine(generation.engine);
    this.watch(generation);
  }

  /**
   * A log that stopped for a reason reopening can cure (no write-ahead log file could be prepared:
   * the disk is full) is reopened, from what is durable on disk, once the store is usable again.
   * Until then the failed generation keeps answering: writes 500/503, /health 503 with the reason.
   */
  private watch(generation: Generation): void {
    void generation.log.whenStopped().then((error) => {
      if (!resumable(error) || this.stopping || this.generation !== generation) return;
      this.options.logger.error(
        { reason: error.message, retryMs: resumeRetryMs },
        'storage failed; the store is reopened once it is usable again',
      );
      this.scheduleResume(generation);
    });
  }

  private scheduleResume(failed: Generation): void {
    this.resumeTimer = setTimeout(() => {
      void this.serialize(async () => {
        if (this.stopping || this.generation !== failed) return;
        const { logger, storage } = this.options;
        if (storage.kind === 'local') {
          const free = await freeBytes(storage.root);
          if (free < resumeFreeBytesMin) {
            const mib = (n: number) => `${Math.floor(n / 2 ** 20)} MiB`;
            const reason = `${mib(free)} free on the filesystem of ${storage.root}; reopening needs ${mib(resumeFreeBytesMin)}`;
            logger.warn({ reason, retryMs: resumeRetryMs }, 'storage still unusable');
            this.scheduleResume(failed);
            return;
          }
        }
        // The failed log hands over the root (its write-ahead log and lock) to the next one.
        await failed.log.close();
        let next: Generation;
        try {
          next = await openGeneration(this.options);
        } catch (error) {
          const reason = (error as Error).message;
          if (!resumable(error)) {
            logger.error({ reason }, 'storage cannot be reopened; restart the server once the cause is fixed');
            return;
          }
          logger.warn({ reason, retryMs: resumeRetryMs }, 'storage still unusable');
          this.scheduleResume(failed);
          return;
        }
        this.swap(next);
        await retire(failed.engine);
        logger.info({ storage: this.options.storage.kind }, 'storage resumed');
      });
    }, resumeRetryMs);
  }

  /** Opens a fresh generation for `reset()`, carrying the stored root token's hash over. */
  private async freshGeneration(): Promise<Generation> {
    const generation = await openGeneration(this.options);
    if (this.rootTokenSource === 'given' || this.rootHash === undefined) return generation;
    try {
      await generation.engine.storeRootTokenHash(this.rootHash);
    } catch (error) {
      await retire(generation.engine);
      throw error;
    }
    return generation;
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }
}

async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

function resumable(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return (error instanceof StoreFailure && error.resumable) || (cause !== undefined && resumable(cause));
}
