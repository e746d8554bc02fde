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
  /**
   * Routes by segment count, in the order added: a path is tried only against routes of its
   * length, and parameters are collected only for the route that matches (trying every route and
   * building a params object per candidate was 4% of a unary append's CPU, benchmarks.md "W4").
   */
  private readonly routes = new Map<number, (Route & { pattern: string })[]>();

  add(method: string, path: string, handler: Handler): this {
    const segments = path.split('/').slice(1);
    const list = this.routes.get(segments.length) ?? [];
    list.push({ method, segments, handler, pattern: `/${segments.join('/')}` });
    this.routes.set(segments.length, list);
    return this;
  }

  match(method: string, path: string): RouteMatch {
    const raw = path.split('/').slice(1);
    const allow: string[] = [];
    for (const route of this.routes.get(raw.length) ?? []) {
      if (!matchSegments(route.segments, raw)) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        allow.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (let i = 0; i < raw.length; i++) {
        const p = route.segments[i]!;
        if (p.startsWith(':')) params[p.slice(1)] = decodeSegment(raw[i]!, p.slice(1));
      }
      return { kind: 'found', handler: route.handler, params, pattern: route.pattern };
    }
    return allow.length > 0 ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
  }
}

/** Whether `raw` (of the same length) fits `pattern`: literals equal, parameters non-empty. */
function matchSegments(pattern: string[], raw: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const r = raw[i]!;
    if (p.startsWith(':') ? r.length === 0 : p !== r) return false;
  }
  return true;
}

function decodeSegment(value: string, name: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw errors.badPath(`Invalid URL: cannot percent-decode parameter \`${name}\``);
  }
}
