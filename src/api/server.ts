/**
 * The HTTP front door: builds the route table, applies CORS, answers health checks, maps errors
 * to responses and logs one line per request.
 */
import type { Logger } from 'pino';
import { errors } from '../domain/errors.js';
import type { Engine } from '../engine/engine.js';
import { bindStateGauges, countHttpRequest, exposition } from '../metrics.js';
import { Access } from './auth/access.js';
import { Authenticator, type AuthOptions } from './auth/authenticate.js';
import { accessOf, setAccess } from './auth/request.js';
import { prometheusOperations, type RouteOperations } from './auth/routes.js';
import { ConsoleSite, findConsoleDir } from './console.js';
import { errorResponse } from './errors.js';
import { RequestContext, type Request, type Response } from './http.js';
import { listen, type Listener } from './listener.js';
import { Router } from './router.js';
import { registerAccessTokenRoutes } from './v1/access-tokens.js';
import { registerBasinRoutes } from './v1/basins.js';
import { registerNotImplementedRoutes } from './v1/not-implemented.js';
import { registerRecordRoutes } from './v1/records.js';
import { registerStreamRoutes } from './v1/streams.js';
import { paths } from './paths.js';

export interface ServerOptions {
  engine: Engine;
  host: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  cors: boolean;
  logger: Logger;
  /** Prometheus exposition for GET /metrics. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Serve the web console at `/` and `/console/...` (docs/console.md); `s2-lite serve` turns it on. */
  console?: boolean;
  /**
   * Require access tokens (issue 18, docs/security.md). Absent: no authentication, and the
   * access-token routes answer 501, as in the reference.
   */
  auth?: AuthOptions;
}

export function buildRouter(engine: Engine, auth: boolean): Router {
  const router = new Router();
  registerBasinRoutes(router, engine);
  registerStreamRoutes(router, engine);
  registerRecordRoutes(router, engine);
  if (auth) registerAccessTokenRoutes(router, engine);
  registerNotImplementedRoutes(router, { accessTokens: !auth });
  return router;
}

/** Headers a browser client may read from responses. */
const exposedHeaders = 's2-provision-result, content-type, content-length';

function applyCors(ctx: RequestContext): boolean {
  const origin = ctx.req.headers.origin;
  if (origin === undefined) return false;
  const res = ctx.res;
  res.setHeader('access-control-allow-origin', String(origin));
  res.setHeader('access-control-allow-credentials', 'true');
  res.setHeader('access-control-expose-headers', exposedHeaders);
  res.setHeader('vary', 'origin, access-control-request-method, access-control-request-headers');
  const preflightMethod = ctx.req.headers['access-control-request-method'];
  if (ctx.method !== 'OPTIONS' || preflightMethod === undefined) return false;
  res.setHeader('access-control-allow-methods', String(preflightMethod));
  const requestedHeaders = ctx.req.headers['access-control-request-headers'];
  if (requestedHeaders !== undefined) res.setHeader('access-control-allow-headers', String(requestedHeaders));
  res.setHeader('access-control-max-age', '86400');
  ctx.send(200, undefined);
  return true;
}

export class S2Server {
  private listener: Listener | undefined;
  private engine!: Engine;
  private router!: Router;
  private readonly console: ConsoleSite | undefined;
  private readonly auth: Authenticator | undefined;

  constructor(private readonly options: ServerOptions) {
    this.console = options.console ? new ConsoleSite(findConsoleDir()) : undefined;
    this.auth = options.auth ? new Authenticator(options.auth, options.engine.ctx.clock) : undefined;
    this.useEngine(options.engine);
  }

  /**
   * Routes every request from now on to `engine` (how `S2Lite.reset()` swaps in an empty one).
   * Requests already running finish on the engine they started with.
   */
  useEngine(engine: Engine): void {
    this.engine = engine;
    this.router = buildRouter(engine, this.auth !== undefined);
    const state = engine.ctx.state;
    bindStateGauges({
      basins: () => state.basins.size,
      streams: () => state.streamsById.size,
      activeStreamers: () => [...state.streamsById.values()].filter((s) => s.runtime !== undefined).length,
    });
  }

  get port(): number {
    if (!this.listener) throw new Error('server not started');
    return this.listener.port;
  }

  async start(): Promise<void> {
    this.listener = await listen({
      host: this.options.host,
      port: this.options.port,
      tls: this.options.tls,
      handler: (req, res) => this.handle(req, res),
    });
  }

  async close(graceMs: number): Promise<void> {
    await this.listener?.close(graceMs);
  }

  /**
   * One request: routing and the checks run synchronously, then the handler's promise settles
   * the request. Not an async function: its suspended frame (every local of this long function)
   * and the await were the largest allocation of a unary append of ours (heap sampling, W4).
   */
  private handle(req: Request, res: Response): void {
    const started = performance.now();
    const ctx = new RequestContext(req, res);
    res.on('error', ignoreError);
    let running: Promise<void> | void = undefined;
    try {
      running = this.dispatch(ctx);
    } catch (error) {
      this.failed(ctx, error);
    }
    if (running === undefined) return this.finished(ctx, started);
    running.then(
      () => this.finished(ctx, started),
      (error: unknown) => {
        this.failed(ctx, error);
        this.finished(ctx, started);
      },
    );
  }

  /** Routes and checks `ctx` and starts its handler; `ctx.route` names what matched (metrics, logs). */
  private dispatch(ctx: RequestContext): Promise<void> | void {
    if (this.options.cors && applyCors(ctx)) {
      ctx.route = 'preflight';
      return;
    }
    // HEAD is answered like GET (without the body), as the router does for /v1 routes.
    const isGet = ctx.method === 'GET' || ctx.method === 'HEAD';
    if (isGet && (ctx.path === paths.health || ctx.path === paths.ping)) {
      ctx.route = ctx.path;
      return this.health(ctx);
    }
    if (isGet && ctx.path === paths.prometheus) {
      ctx.route = ctx.path;
      if (this.auth?.metricsAuth) this.authenticate(ctx, prometheusOperations);
      return this.prometheus(ctx);
    }
    // Only `/`, `/console` and `/console/...` change; unknown paths stay an empty 404 (api.md 1.2).
    if (this.console && ConsoleSite.owns(ctx.path)) {
      ctx.route = 'console';
      return this.console.serve(ctx);
    }
    const match = this.router.match(ctx.method, ctx.path);
    if (match.kind === 'not-found') return ctx.send(404, undefined);
    if (match.kind === 'method-not-allowed') return ctx.send(405, undefined, { allow: match.allow.join(',') });
    ctx.route = match.pattern;
    ctx.params = match.params;
    // The pipeline: route -> authenticate (and the route's operations) -> handler, which parses
    // and authorizes each name it extracts (auth/access.ts) -> engine.
    this.authenticate(ctx, match.operations);
    // A fenced or failed instance answers no /v1 request from its possibly stale view (api.md 10.4:
    // 503 unavailable): not when the request arrives, nor (reads) when a success is about to go
    // out after a wait. A write that became durable keeps its acknowledgement.
    // The engine this request started on (a reset may swap in another while it runs).
    const engine = this.engine;
    requireHealthy(engine);
    if (isGet) {
      // A long-poll read may wait 60 s: its token may have been revoked or expired meanwhile.
      const access = accessOf(ctx);
      ctx.beforeSuccess = () => {
        requireHealthy(engine);
        access.stillValid();
      };
    }
    return match.handler(ctx);
  }

  private async prometheus(ctx: RequestContext): Promise<void> {
    const { contentType, body } = await (this.options.metrics ?? exposition)();
    ctx.send(200, body, { 'content-type': contentType });
  }

  /** The request failed: its error response, unless the response already started. */
  private failed(ctx: RequestContext, error: unknown): void {
    const res = ctx.res;
    const response = errorResponse(error);
    if (response.internal) this.options.logger.error({ err: error, route: ctx.route }, 'request failed');
    if (res.headersSent) {
      res.end();
    } else {
      // RFC 6750 section 3: a 401 names the scheme it wants.
      const headers: Record<string, string> = response.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
      ctx.sendJson(response.status, response.body, headers);
    }
  }

  /** Counted and logged once, when the response is complete: now if it is, else when it closes (sessions). */
  private finished(ctx: RequestContext, started: number): void {
    if (ctx.res.writableEnded) this.logRequest(ctx, ctx.route, started);
    else ctx.res.once('close', () => this.logRequest(ctx, ctx.route, started));
  }

  /**
   * Authenticate and check the route's operations (401 / 403), then hand the handler its
   * `Access`. Without `--auth`, everything is allowed. A route missing from the operation table
   * fails closed.
   */
  private authenticate(ctx: RequestContext, operations: RouteOperations | undefined): void {
    if (!this.auth) return setAccess(ctx, Access.unrestricted);
    const access = this.auth.authenticate(ctx.req, this.engine);
    if (!operations) throw new Error(`no operation is declared for ${ctx.method} ${ctx.path}`);
    access.require(operations.ops, operations.mode);
    setAccess(ctx, access);
  }

  private logRequest(ctx: RequestContext, route: string, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    countHttpRequest(ctx.method, route, ctx.res.statusCode, seconds);
    // The log object only when it is written: building it per request cost 0.6% at level warn.
    if (!this.options.logger.isLevelEnabled('info')) return;
    const basin = ctx.params.basin ?? (ctx.req.headers['s2-basin'] as string | undefined);
    this.options.logger.info(
      {
        method: ctx.method,
        route,
        status: ctx.res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        basin,
        stream: ctx.params.stream,
      },
      'request',
    );
  }

  private health(ctx: RequestContext): void {
    const health = this.engine.health();
    if (health.ok) ctx.send(200, 'OK', { 'content-type': 'text/plain; charset=utf-8' });
    else ctx.send(503, health.reason, { 'content-type': 'text/plain; charset=utf-8' });
  }
}

function requireHealthy(engine: Engine): void {
  const health = engine.health();
  if (!health.ok) throw errors.unavailable(`this instance cannot serve: ${health.reason}`);
}

/** Response errors (a client gone mid-write) need a listener; they are handled by 'close'. */
function ignoreError(): void {}
