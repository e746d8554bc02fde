/**
 * The route table: matches a method and path against the routes the v1 modules register (their
 * paths are all listed in paths.ts). Unknown paths get an empty 404; a known path with the wrong
 * method gets an empty 405 with `Allow`.
 */
import { errors } from '../domain/errors.js';
import { routeOperations, type RouteOperations } from './auth/routes.js';
import type { RequestContext } from './http.js';

export type Handler = (ctx: RequestContext) => Promise<void>;

interface Route {
  method: string;
  segments: string[];
  /** Whether each segment is a parameter (`:name`), and its name then. */
  paramNames: (string | undefined)[];
  handler: Handler;
  pattern: string;
  /** The route's operations (auth/routes.ts), looked up once here rather than per request. */
  operations: RouteOperations | undefined;
}

export type RouteMatch =
  | {
      kind: 'found';
      handler: Handler;
      params: Record<string, string>;
      pattern: string;
      operations: RouteOperations | undefined;
    }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

export class Router {
  /**
   * Routes by segment count, in the order added: a path is tried only against routes of its
   * length, and parameters are collected only for the route that matches (trying every route and
   * building a params object per candidate was 4% of a unary append's CPU, benchmarks.md "W4").
   */
  private readonly routes = new Map<number, Route[]>();

  add(method: string, path: string, handler: Handler): this {
    const segments = path.split('/');
    const list = this.routes.get(segments.length) ?? [];
    const paramNames = segments.map((p) => (p.startsWith(':') ? p.slice(1) : undefined));
    const pattern = segments.join('/');
    list.push({ method, segments, paramNames, handler, pattern, operations: routeOperations(method, pattern) });
    this.routes.set(segments.length, list);
    return this;
  }

  match(method: string, path: string): RouteMatch {
    // Segments as split, with the empty one before the leading `/` (index 0: never a parameter).
    const raw = path.split('/');
    let allow: string[] | undefined;
    for (const route of this.routes.get(raw.length) ?? []) {
      if (!matchSegments(route, raw)) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        (allow ??= []).push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (let i = 1; i < raw.length; i++) {
        const name = route.paramNames[i];
        if (name !== undefined) params[name] = decodeSegment(raw[i]!, name);
      }
      return { kind: 'found', handler: route.handler, params, pattern: route.pattern, operations: route.operations };
    }
    return allow ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
  }
}

/** Whether `raw` (of the same length) fits the route: literals equal, parameters non-empty. */
function matchSegments(route: Route, raw: string[]): boolean {
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i]!;
    if (route.paramNames[i] !== undefined ? r.length === 0 : route.segments[i] !== r) return false;
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
