/**
 * The ceiling of unary HTTP/1.1 on Node: a `node:http` server that reads each request body to the
 * end and answers every POST with a fixed small protobuf-typed body (the size of our AppendAck), and
 * nothing else. Driven by the same client as our server, its requests/s is what our unary append path
 * could reach if it did no work at all. Usage: node-http-trivial-server.ts PORT
 */
import http from 'node:http';
import { installLoopProbe } from '../lib/loop-probe.js';

installLoopProbe();
const port = Number(process.argv[2]);
// About the size of an encoded AppendAck (start, end, tail positions).
const BODY = Buffer.alloc(36, 1);
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(req.method === 'POST' ? 200 : 204, {
      'content-type': 'application/protobuf',
      'content-length': req.method === 'POST' ? BODY.length : 0,
    });
    res.end(req.method === 'POST' ? BODY : undefined);
  });
});
// The same keep-alive as ours (api/server.ts), so idle pooled connections are not closed under the client.
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`node-http-trivial listening on ${port}\n`));
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
