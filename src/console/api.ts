/**
 * The console's client of the public S2 API (api.md): same-origin fetch, `S2-Basin` for stream
 * routes (api.md 1.3), `S2-Format: base64` for records so bytes survive (api.md 6.6), and a
 * bearer token when the user gave one. The token lives only in sessionStorage (this tab, this
 * session); without one no Authorization header is sent. A 401 asks the user for a token.
 */
import { parseJson, stringifyJson, type Json } from './json.js';

const tokenKey = 's2-console-token';

export function getToken(): string | undefined {
  try {
    return sessionStorage.getItem(tokenKey) ?? undefined;
  } catch {
    return undefined;
  }
}

export function setToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(tokenKey, token);
  else sessionStorage.removeItem(tokenKey);
  window.dispatchEvent(new Event('s2-token-changed'));
}

/** An API failure, carrying the API's own code and message (api.md 10.1) or the special 412/416 bodies. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly body?: Json,
  ) {
    super(message);
  }

  /** What to show a person: the API's message, prefixed with its code. */
  describe(): string {
    return this.code ? `${this.code}: ${this.message}` : this.message;
  }
}

export interface ApiRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | bigint | number | boolean | undefined>;
  basin?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function apiHeaders(request: Pick<ApiRequest, 'basin' | 'headers'>): Headers {
  const headers = new Headers(request.headers);
  if (!headers.has('accept')) headers.set('accept', 'application/json');
  if (request.basin !== undefined) headers.set('s2-basin', request.basin);
  const token = getToken();
  if (token) headers.set('authorization', `Bearer ${token}`);
  return headers;
}

export function apiUrl(path: string, query: ApiRequest['query'] = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** Sends one request; resolves with the parsed JSON body (null when empty), or throws ApiError. */
export async function api<T = Json>(request: ApiRequest): Promise<T> {
  const headers = apiHeaders(request);
  let body: string | undefined;
  if (request.body !== undefined) {
    body = stringifyJson(request.body);
    headers.set('content-type', 'application/json');
  }
  let response: Response;
  try {
    response = await fetch(apiUrl(request.path, request.query), {
      method: request.method ?? 'GET',
      headers,
      body,
      signal: request.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, `Cannot reach the server: ${(error as Error).message}`);
  }
  return (await readResponse(response)) as T;
}

export async function readResponse(response: Response): Promise<Json> {
  const text = await response.text();
  let json: Json = null;
  if (text && (response.headers.get('content-type') ?? '').includes('json')) {
    try {
      json = parseJson(text);
    } catch {
      json = null;
    }
  }
  if (response.ok) return json;
  throw errorFrom(response.status, response.statusText, json, text);
}

export function errorFrom(status: number, statusText: string, json: Json, text = ''): ApiError {
  const fields = json !== null && typeof json === 'object' && !Array.isArray(json) ? json : {};
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  let message = typeof fields.message === 'string' ? fields.message : '';
  if (!message) message = text.trim().slice(0, 500) || `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  const error = new ApiError(status, message, code, json);
  if (status === 401) window.dispatchEvent(new CustomEvent('s2-unauthorized', { detail: error.describe() }));
  return error;
}

/** A message for anything caught: API errors as the API said them, others as they are. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}
