/**
 * The route table (src/api/router.ts) matches paths segment by segment: literals exactly,
 * parameters non-empty and percent-decoded (bad_path when they cannot be), HEAD as GET, 405 with
 * the allowed methods for a known path, and not-found for anything else (other lengths, very
 * deep paths, paths that do not start with '/').
 */
import { describe, expect, it } from 'vitest';
import { S2Error } from '../../src/domain/errors.js';
import { Router, type Handler, type RouteMatch } from '../../src/api/router.js';
import { paths } from '../../src/api/paths.js';

const handlers = new Map<string, Handler>();
function handler(name: string): Handler {
  const h: Handler = async () => {};
  handlers.set(name, h);
  return h;
}

const router = new Router()
  .add('GET', paths.basins, handler('list-basins'))
  .add('GET', paths.basin, handler('get-basin'))
  .add('DELETE', paths.basin, handler('delete-basin'))
  .add('POST', paths.records, handler('append'))
  .add('GET', paths.records, handler('read'))
  .add('GET', paths.tail, handler('tail'))
  .add('GET', paths.streamMetrics, handler('stream-metrics'));

function found(match: RouteMatch) {
  if (match.kind !== 'found') throw new Error(`expected a match, got ${match.kind}`);
  return match;
}

describe('Router', () => {
  it('matches literals and collects parameters', () => {
    const m = found(router.match('POST', '/v1/streams/my-stream/records'));
    expect(m.handler).toBe(handlers.get('append'));
    expect(m.params).toEqual({ stream: 'my-stream' });
    expect(m.pattern).toBe(paths.records);
    expect(m.operations?.ops).toEqual(['append', 'fence', 'trim']);
    expect(found(router.match('GET', '/v1/streams/s/records/tail')).handler).toBe(handlers.get('tail'));
    expect(found(router.match('GET', '/v1/basins')).params).toEqual({});
    expect(found(router.match('GET', '/v1/metrics/b1/s%2F1')).params).toEqual({ basin: 'b1', stream: 's/1' });
  });

  it('answers HEAD like GET and refuses other methods with the allowed ones', () => {
    expect(found(router.match('HEAD', '/v1/basins/b')).handler).toBe(handlers.get('get-basin'));
    expect(router.match('PUT', '/v1/basins/b')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'DELETE'] });
  });

  it('finds nothing for other shapes', () => {
    for (const path of [
      '/v1/basin',
      '/v1/basins/',
      '/v1/streams//records',
      '/v1/streams/s/records/tail/x',
      '/v2/basins',
      'v1/basins',
      'http://host/v1/basins',
      '*',
      '',
      '/',
      '/v1/basins' + '/x'.repeat(40),
    ]) {
      expect(router.match('GET', path), path).toEqual({ kind: 'not-found' });
    }
  });

  it('percent-decodes parameters and refuses undecodable ones with bad_path', () => {
    expect(found(router.match('GET', '/v1/basins/a%20b')).params).toEqual({ basin: 'a b' });
    let error: unknown;
    try {
      router.match('GET', '/v1/basins/%E0%A4%A');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(S2Error);
    expect((error as S2Error).code).toBe('bad_path');
  });
});
