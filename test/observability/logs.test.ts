/**
 * Logs are for operators and must never leak credentials: a real server process at the most
 * verbose level receives requests carrying an Authorization header and an encryption key, and
 * neither secret appears anywhere in what it prints; each request gets one structured line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, uniqueBasin } from '../support/http.js';
import { spawnServer, type SpawnedServer } from '../support/server.js';

const bearerSecret = 'very-secret-token-value-1234';
const encryptionKey = Buffer.alloc(32, 7).toString('base64');

let server: SpawnedServer;
beforeAll(async () => {
  server = await spawnServer(['--log-level', 'trace']);
});
afterAll(async () => {
  await server?.stop();
});

describe('structured logs', () => {
  it('never contain the Authorization header or an encryption key', async () => {
    const basin = uniqueBasin('logs');
    const secrets = { authorization: `Bearer ${bearerSecret}`, 's2-encryption-key': encryptionKey };
    await request(server.baseUrl, {
      method: 'POST',
      path: '/v1/basins',
      headers: { 'content-type': 'application/json', ...secrets },
      body: JSON.stringify({ basin }),
    });
    await request(server.baseUrl, { path: `/v1/basins/${basin}`, headers: secrets });
    await request(server.baseUrl, { path: '/v1/streams/x/records', headers: { ...secrets, 's2-basin': basin } });
    await request(server.baseUrl, { path: '/nope', headers: secrets });
    await server.stop();
    const output = server.stdout() + server.stderr();
    expect(output).not.toContain(bearerSecret);
    expect(output).not.toContain(encryptionKey);
    const lines = server
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    const requests = lines.filter((line) => line.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests.find((line) => line.route === '/v1/basins/:basin')).toMatchObject({
      method: 'GET',
      status: 200,
      basin,
    });
    expect(lines.find((line) => line.msg === 'listening')).toMatchObject({ storage: 'memory' });
  });
});
