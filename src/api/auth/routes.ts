/**
 * The operation(s) of each route (the `Operation` enum of the spec), checked before the handler
 * runs. Resource names are checked as handlers extract them (access.ts). One table, next to
 * paths.ts, so a route added without an operation fails the test that walks the route table.
 */
import type { Operation } from '../../domain/access-tokens.js';
import { paths } from '../paths.js';

export interface RouteOperations {
  ops: readonly Operation[];
  /**
   * `any`: one of them suffices (appends need more per record: access.ts `appendInput`);
   * `all`: each is needed (ensure may create or reconfigure, so it needs both).
   */
  mode: 'any' | 'all';
}

const one = (op: Operation): RouteOperations => ({ ops: [op], mode: 'any' });

const table: Record<string, RouteOperations> = {
  [`GET ${paths.basins}`]: one('list-basins'),
  [`POST ${paths.basins}`]: one('create-basin'),
  [`GET ${paths.basin}`]: one('get-basin-config'),
  [`PUT ${paths.basin}`]: { ops: ['create-basin', 'reconfigure-basin'], mode: 'all' },
  [`PATCH ${paths.basin}`]: one('reconfigure-basin'),
  [`DELETE ${paths.basin}`]: one('delete-basin'),
  [`GET ${paths.streams}`]: one('list-streams'),
  [`POST ${paths.streams}`]: one('create-stream'),
  [`GET ${paths.stream}`]: one('get-stream-config'),
  [`PUT ${paths.stream}`]: { ops: ['create-stream', 'reconfigure-stream'], mode: 'all' },
  [`PATCH ${paths.stream}`]: one('reconfigure-stream'),
  [`DELETE ${paths.stream}`]: one('delete-stream'),
  [`GET ${paths.tail}`]: one('check-tail'),
  [`GET ${paths.records}`]: one('read'),
  [`POST ${paths.records}`]: { ops: ['append', 'fence', 'trim'], mode: 'any' },
  [`GET ${paths.accessTokens}`]: one('list-access-tokens'),
  [`POST ${paths.accessTokens}`]: one('issue-access-token'),
  [`DELETE ${paths.accessToken}`]: one('revoke-access-token'),
  [`GET ${paths.locations}`]: one('list-locations'),
  [`GET ${paths.defaultLocation}`]: one('get-default-location'),
  [`PUT ${paths.defaultLocation}`]: one('set-default-location'),
  [`GET ${paths.accountMetrics}`]: one('account-metrics'),
  [`GET ${paths.basinMetrics}`]: one('basin-metrics'),
  [`GET ${paths.streamMetrics}`]: one('stream-metrics'),
};

/** The operations of a matched route (HEAD is GET); undefined for a route missing from the table. */
export function routeOperations(method: string, pattern: string): RouteOperations | undefined {
  return table[`${method === 'HEAD' ? 'GET' : method} ${pattern}`];
}

/** `/metrics` with `--metrics-auth`. */
export const prometheusOperations = one('account-metrics');
