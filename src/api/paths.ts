/**
 * Every path the server answers, in one list (api.md 1.2): the `/v1` resources the router matches
 * (`:name` is a path parameter) and the operational endpoints served before routing. Handlers
 * register against these names; nothing else spells a path.
 */
export const paths = {
  basins: '/v1/basins',
  basin: '/v1/basins/:basin',
  streams: '/v1/streams',
  stream: '/v1/streams/:stream',
  records: '/v1/streams/:stream/records',
  tail: '/v1/streams/:stream/records/tail',
  accessTokens: '/v1/access-tokens',
  accessToken: '/v1/access-tokens/:id',
  locations: '/v1/locations',
  defaultLocation: '/v1/locations/default',
  accountMetrics: '/v1/metrics',
  basinMetrics: '/v1/metrics/:basin',
  streamMetrics: '/v1/metrics/:basin/:stream',
  /** Liveness and readiness (lite-internals); `/ping` is an alias. */
  health: '/health',
  ping: '/ping',
  /** Prometheus exposition of the server's own metrics. */
  prometheus: '/metrics',
} as const;
