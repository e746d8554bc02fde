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
    if (segments.length >= segmentsMax) throw new Error(`route ${path} has more than ${segmentsMax - 1} segments`);
    const list = this.routes.get(segments.length) ?? [];
    const paramNames = segments.map((p) => (p.startsWith(':') ? p.slice(1) : undefined));
    const pattern = segments.join('/');
    list.push({ method, segments, paramNames, handler, pattern, operations: routeOperations(method, pattern) });
    this.routes.set(segments.length, list);
    return this;
  }

  match(method: string, path: string): RouteMatch {
    // Where each segment ends ('/' positions, then the path's end), without splitting the path:
    // `split` was most of routing's time in the W4 profile. Segment 0 is what precedes the first
    // '/' (empty for every route).
    let count = 0;
    for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) {
      if (count === segmentsMax - 1) return { kind: 'not-found' };
      segmentEnds[count++] = at;
    }
    segmentEnds[count++] = path.length;
    let allow: string[] | undefined;
    for (const route of this.routes.get(count) ?? []) {
      if (!matchSegments(route, path, count)) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        (allow ??= []).push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (let i = 1; i < count; i++) {
        const name = route.paramNames[i];
        if (name !== undefined) params[name] = decodeSegment(path.slice(segmentEnds[i - 1]! + 1, segmentEnds[i]), name);
      }
      return { kind: 'found', handler: route.handler, params, pattern: route.pattern, operations: route.operations };
    }
    return allow ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
  }
}

/** More segments than any route has (a longer path is not found). */
const segmentsMax = 16;
/** Scratch of `match` (it never yields): the end of each segment of the path being matched. */
const segmentEnds = new Int32Array(segmentsMax);

/** Whether the path's segments (as many as the route's) fit it: literals equal, parameters non-empty. */
function matchSegments(route: Route, path: string, count: number): boolean {
  for (let i = 0; i < count; i++) {
    const start = i === 0 ? 0 : segmentEnds[i - 1]! + 1;
    const length = segmentEnds[i]! - start;
    if (route.paramNames[i] !== undefined) {
      if (length === 0) return false;
    } else {
      const literal = route.segments[i]!;
      if (literal.length !== length || !path.startsWith(literal, start)) return false;
    }
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
