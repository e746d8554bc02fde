/** Endpoint -> adapter. Imported lazily so a worker only loads the client library it needs. */
import type { Adapter, Endpoint } from './types.js';

export async function openAdapter(endpoint: Endpoint): Promise<Adapter> {
  switch (endpoint.kind) {
    case 'redis':
      return (await import('../peers/redis.js')).openRedis(endpoint.port);
    case 'nats':
      return (await import('../peers/nats.js')).openNats(endpoint.port);
    case 'durable-streams':
      return (await import('../peers/durable-streams.js')).openDurableStreams(endpoint.port);
    case 'trivial':
      return (await import('../peers/node-http-trivial.js')).openTrivial(endpoint.port);
    case 's2lite':
      return (await import('../ours/client.js')).openS2Lite(
        endpoint.baseUrl,
        endpoint.basin,
        endpoint.live,
        endpoint.encryptionKey,
      );
  }
}
