/**
 * Minimal HTTP/1.1 keep-alive client on node:http, shared by the HTTP adapters. node:http rather
 * than fetch: fetch (undici) adds per-request overhead that would be charged to the server.
 */
import http from 'node:http';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function agent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

export function request(
  ag: http.Agent | undefined,
  port: number,
  method: string,
  path: string,
  body?: Buffer | string,
  headers: http.OutgoingHttpHeaders = {},
  timeoutMs = 60_000,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: ag,
        headers: body !== undefined ? { 'content-length': Buffer.byteLength(body), ...headers } : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no response in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Like `request` but rejects on a non-2xx status, with the start of the body in the message. */
export async function requestOk(...args: Parameters<typeof request>): Promise<HttpResponse> {
  const res = await request(...args);
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`${args[2]} ${args[3]}: HTTP ${res.status} ${res.body.toString('utf8', 0, 200)}`);
  }
  return res;
}

/**
 * Opens a long-lived GET (SSE) and hands each complete event (`event` name and joined `data`) to
 * `onEvent`. Resolves with a closer once response headers arrive, or rejects on a non-2xx status.
 */
export function openEventStream(
  port: number,
  path: string,
  headers: http.OutgoingHttpHeaders,
  onEvent: (event: string, data: string, receivedNs: number) => void,
  now: () => number,
): Promise<{ contentType: string; close(): void; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`)));
          return;
        }
        const ended = new Promise<void>((r) => {
          res.on('end', r);
          res.on('close', r);
          res.on('error', () => r());
        });
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const t = now();
          buf += chunk;
          let idx: number;
          while ((idx = buf.indexOf('\n\n')) >= 0) {
            const raw = buf.slice(0, idx);
            buf = buf.slice(idx + 2);
            let event = 'message';
            let data = '';
            for (const line of raw.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:'))
                data += (data ? '\n' : '') + line.slice(line.charAt(5) === ' ' ? 6 : 5);
            }
            onEvent(event, data, t);
          }
        });
        resolve({ contentType: String(res.headers['content-type'] ?? ''), close: () => req.destroy(), ended });
      },
    );
    req.on('error', reject);
  });
}
