/**
 * A raw HTTP client for black-box tests, over HTTP/1.1 or HTTP/2 with prior knowledge (h2c), so
 * every status, header and byte of a response can be checked exactly.
 */
import http from 'node:http';
import http2 from 'node:http2';

export type Protocol = 'h1' | 'h2c';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  /** Body parsed as JSON (throws if it is not JSON). */
  json(): any;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  protocol?: Protocol;
}

const h2Sessions = new Map<string, http2.ClientHttp2Session>();

function h2Session(baseUrl: string): http2.ClientHttp2Session {
  const existing = h2Sessions.get(baseUrl);
  if (existing && !existing.closed && !existing.destroyed) return existing;
  const session = http2.connect(baseUrl);
  session.on('error', () => h2Sessions.delete(baseUrl));
  session.unref();
  h2Sessions.set(baseUrl, session);
  return session;
}

function finish(status: number, headers: RawResponse['headers'], chunks: Buffer[]): RawResponse {
  const body = Buffer.concat(chunks);
  const text = body.toString('utf8');
  return { status, headers, body, text, json: () => JSON.parse(text) };
}

export function request(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  const method = req.method ?? 'GET';
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  if ((req.protocol ?? 'h1') === 'h2c') {
    return new Promise((resolve, reject) => {
      const stream = h2Session(baseUrl).request({ ':method': method, ':path': req.path, ...req.headers });
      const chunks: Buffer[] = [];
      let status = 0;
      let headers: RawResponse['headers'] = {};
      stream.on('response', (h) => {
        status = Number(h[':status']);
        headers = h as RawResponse['headers'];
      });
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('end', () => resolve(finish(status, headers, chunks)));
      stream.on('error', reject);
      stream.end(body);
    });
  }
  return new Promise((resolve, reject) => {
    // The path is sent verbatim: `new URL()` would resolve dot segments such as `%2E`.
    const { hostname, port } = new URL(baseUrl);
    const headers = { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
    const r = http.request({ hostname, port, path: req.path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve(finish(res.statusCode ?? 0, res.headers, chunks)));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** Closes cached HTTP/2 sessions (call in afterAll). */
export function closeHttp2Sessions(): void {
  for (const session of h2Sessions.values()) session.close();
  h2Sessions.clear();
}

/** Unique names so tests never collide, even against a shared external server. */
let counter = 0;
export function uniqueBasin(prefix = 'test'): string {
  counter += 1;
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${counter}`.slice(0, 48).replace(/-+$/, '');
}
