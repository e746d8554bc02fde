/**
 * The route table: matches a method and path against the routes the v1 modules register (their
 * paths are all listed in paths.ts). Unknown paths get an empty 404; a known path with the wrong
 * method gets an empty 405 with `Allow`.
 */
import { errors } from '../domain/errors.js';
import type { RequestContext } from './http.js';

export type Handler = (ctx: RequestContext) => Promise<void>;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export type RouteMatch =
  | { kind: 'found'; handler: Handler; params: Record<string, string>; pattern: string }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    this.routes.push({ method, segments: path.split('/').slice(1), handler });
    return this;
  }

  match(method: string, path: string): RouteMatch {
    const raw = path.split('/').slice(1);
    const allow: string[] = [];
    for (const route of this.routes) {
      const rawParams = matchSegments(route.segments, raw);
      if (!rawParams) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        allow.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(rawParams)) params[name] = decodeSegment(value, name);
      return { kind: 'found', handler: route.handler, params, pattern: `/${route.segments.join('/')}` };
    }
    return allow.length > 0 ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
  }
}

function matchSegments(pattern: string[], raw: string[]): Record<string, string> | null {
  if (pattern.length !== raw.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const r = raw[i]!;
    if (p.startsWith(':')) {
      if (r.length === 0) return null;
      params[p.slice(1)] = r;
    } else if (p !== r) {
      return null;
    }
  }
  return params;
}

function decodeSegment(value: string, name: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw errors.badPath(`Invalid URL: cannot percent-decode parameter \`${name}\``);
  }
}
