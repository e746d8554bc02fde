/**
 * Serves the web console (docs/console.md): the static files `npm run build` writes to
 * `dist/console/`, at `/`, `/console` and `/console/...`. The console is a client of the public
 * API like any other; this module only hands out files. They are read into memory once, from the
 * list in `build.json`, so a request path is a key in a map and never touches the filesystem.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { RequestContext } from './http.js';

/**
 * Only this origin's scripts, styles, images and API; no frames around it, no plugins, no
 * <base> games, and Trusted Types required so that no string can ever become HTML (the console
 * renders record contents with textContent only).
 */
export const consoleContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const securityHeaders: Record<string, string> = {
  'content-security-policy': consoleContentSecurityPolicy,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
  '.json': 'application/json',
};

/** File names the build may list: no `..`, no absolute paths, nothing a shell or URL would reinterpret. */
const safeRelativePath = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  contentType: string;
  etag: string;
  /** Hashed file names never change content; index.html and friends must be revalidated. */
  immutable: boolean;
}

interface BuildManifest {
  files: { path: string; immutable?: boolean }[];
}

/** Where a build left the console: next to this module in dist/, or dist/ when running from source. */
export function findConsoleDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../console'), path.resolve(here, '../../dist/console')];
  return candidates.find((dir) => existsSync(path.join(dir, 'build.json')));
}

function loadAsset(dir: string, file: { path: string; immutable?: boolean }): Asset {
  if (!safeRelativePath.test(file.path)) throw new Error(`console build lists an unsafe path: ${file.path}`);
  const contentType = contentTypes[path.extname(file.path)];
  if (contentType === undefined) throw new Error(`console build lists a file of unknown type: ${file.path}`);
  const body = readFileSync(path.join(dir, file.path));
  const compressed = contentType.startsWith('image/png') ? undefined : gzipSync(body, { level: 9 });
  return {
    body,
    gzip: compressed && compressed.length < body.length ? compressed : undefined,
    contentType,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    immutable: file.immutable === true,
  };
}

export class ConsoleSite {
  private readonly assets = new Map<string, Asset>();

  /** `dir` undefined: the console was not built; its paths then say so instead of a blank page. */
  constructor(dir: string | undefined) {
    if (dir === undefined) return;
    const manifest = JSON.parse(readFileSync(path.join(dir, 'build.json'), 'utf8')) as BuildManifest;
    for (const file of manifest.files) this.assets.set(file.path, loadAsset(dir, file));
    if (!this.assets.has('index.html')) throw new Error('console build has no index.html');
  }

  /** The paths the console owns; every other path keeps its API meaning (api.md 1.2). */
  static owns(urlPath: string): boolean {
    return urlPath === '/' || urlPath === '/console' || urlPath.startsWith('/console/');
  }

  /** Answers a request for a path the console owns. */
  serve(ctx: RequestContext): void {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      return ctx.send(405, undefined, { allow: 'GET, HEAD', ...securityHeaders });
    }
    if (this.assets.size === 0) {
      return ctx.send(503, 'The console is not built: run `npm run build`.\n', {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        ...securityHeaders,
      });
    }
    const key = assetKey(ctx.path);
    const asset = this.assets.get(key);
    if (asset === undefined) {
      return ctx.send(404, 'Not found\n', { 'content-type': 'text/plain; charset=utf-8', ...securityHeaders });
    }
    this.sendAsset(ctx, asset);
  }

  private sendAsset(ctx: RequestContext, asset: Asset): void {
    const headers: Record<string, string> = {
      'content-type': asset.contentType,
      'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: asset.etag,
      vary: withVary(ctx, 'accept-encoding'),
      ...securityHeaders,
    };
    if (
      ctx
        .header('if-none-match')
        ?.split(',')
        .some((tag) => tag.trim() === asset.etag)
    ) {
      return ctx.send(304, undefined, headers);
    }
    const gzip = asset.gzip !== undefined && acceptsGzip(ctx);
    if (gzip) headers['content-encoding'] = 'gzip';
    ctx.send(200, gzip ? asset.gzip : asset.body, headers);
  }
}

/**
 * `/console/assets/x` and other files the build made are served as themselves; every other
 * console path is a page of the console's own router, so it gets index.html.
 */
function assetKey(urlPath: string): string {
  if (urlPath.startsWith('/console/assets/')) return urlPath.slice('/console/'.length);
  return 'index.html';
}

function acceptsGzip(ctx: RequestContext): boolean {
  return ctx.headerValues('accept-encoding').some((value) =>
    value.split(',').some((token) => {
      const [name, ...params] = token.split(';').map((part) => part.trim().toLowerCase());
      return name === 'gzip' && !params.includes('q=0');
    }),
  );
}

/** Keeps the Vary that CORS may already have set on the response. */
function withVary(ctx: RequestContext, name: string): string {
  const existing = ctx.res.getHeader('vary');
  return existing === undefined ? name : `${String(existing)}, ${name}`;
}
