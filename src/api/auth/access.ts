/**
 * What one authenticated request may do (the authorize step of the pipeline, docs/security.md):
 * its principal's effective operations, resource sets and stream prefix, checked as the handlers
 * extract names. Every denial is 403 `permission_denied`; a token revoked or expired since the
 * request began is 401 `authn` at its next check (`stillValid`, run by sessions per message).
 *
 * Without `--auth` every request gets `Access.unrestricted`, which allows everything and changes
 * no name, so handlers run one code path either way.
 */
import { rootScope, type AccessTokenScope, type Operation } from '../../domain/access-tokens.js';
import { errors, type S2Error } from '../../domain/errors.js';
import type { AppendInput } from '../../domain/types.js';
import { streamNameBytesMax } from '../../limits.js';
import { allOperationsMask, matches, narrowList, operationBit, operationMask, type ListQuery } from './scope.js';

export interface Principal {
  /** The token's id; null for the root token. */
  id: string | null;
  scope: AccessTokenScope;
  /** Effective operations (scope.ts `operationMask`). */
  opMask: number;
  /** With `auto_prefix_streams`, the scope's stream prefix; otherwise null. */
  streamPrefix: string | null;
  expiresAtMs: number | null;
}

export function principalOf(
  id: string | null,
  scope: AccessTokenScope,
  autoPrefix: boolean,
  expiresAtMs: number | null,
): Principal {
  const streams = scope.streams;
  const streamPrefix = autoPrefix && streams !== null && 'prefix' in streams ? streams.prefix : null;
  return { id, scope, opMask: operationMask(scope), streamPrefix, expiresAtMs };
}

export const rootPrincipal: Principal = principalOf(null, rootScope(), false, null);

/** A narrowed list query, with how to show each name (auto-prefix stripped) and which to keep. */
export interface VisibleList {
  query: ListQuery;
  keep: (name: string) => boolean;
  show: (name: string) => string;
}

const fence = Buffer.from('fence');
const trim = Buffer.from('trim');
const identity = (name: string) => name;
const everything = () => true;

export class Access {
  static readonly unrestricted = new Access(rootPrincipal, () => null);

  constructor(
    readonly principal: Principal,
    /** Why the token no longer authenticates (revoked, expired), or null while it does. */
    private readonly invalidity: () => string | null,
  ) {}

  /** 401 if the token was revoked or expired since it was presented (sessions check per message). */
  stillValid(): void {
    const reason = this.invalidity();
    if (reason !== null) throw errors.authn(reason);
  }

  /** At least one of `ops` must be allowed (route level; `all` for ensure, which may create or update). */
  require(ops: readonly Operation[], mode: 'any' | 'all'): void {
    const mask = this.principal.opMask;
    const allowed = (op: Operation) => (mask & operationBit[op]) !== 0;
    const ok = mode === 'any' ? ops.some(allowed) : ops.every(allowed);
    if (!ok) {
      const missing = ops.filter((op) => !allowed(op));
      throw denied(
        `operation ${missing.map((op) => `\`${op}\``).join(mode === 'any' ? ' or ' : ' and ')} not permitted`,
      );
    }
  }

  basin(name: string): void {
    if (!matches(this.principal.scope.basins, name)) throw denied(`basin \`${name}\` is outside the token scope`);
  }

  /**
   * The stored name of a stream named `name` by the client (with the auto-prefix), checked
   * against the token's streams. `tooLong` builds the error of the input's kind (bad_path,
   * bad_json) should the prefix push the name past the stream name limit.
   */
  stream(name: string, tooLong: (message: string) => S2Error): string {
    const prefix = this.principal.streamPrefix;
    const full = prefix === null ? name : prefix + name;
    if (prefix !== null && Buffer.byteLength(full) > streamNameBytesMax) {
      throw tooLong(`stream name with the token's prefix must not exceed ${streamNameBytesMax} bytes in length`);
    }
    if (!matches(this.principal.scope.streams, full)) throw denied(`stream \`${name}\` is outside the token scope`);
    return full;
  }

  /** A stored stream name as this token's client sees it (auto-prefix stripped). */
  streamOut(name: string): string {
    const prefix = this.principal.streamPrefix;
    return prefix === null ? name : name.slice(prefix.length);
  }

  accessToken(id: string): void {
    if (!matches(this.principal.scope.accessTokens, id))
      throw denied(`access token \`${id}\` is outside the token scope`);
  }

  basinList(query: ListQuery): VisibleList | null {
    return this.visible(this.principal.scope.basins, query);
  }

  accessTokenList(query: ListQuery): VisibleList | null {
    return this.visible(this.principal.scope.accessTokens, query);
  }

  streamList(query: ListQuery): VisibleList | null {
    const prefix = this.principal.streamPrefix;
    if (prefix === null) return this.visible(this.principal.scope.streams, query);
    // Names are relative to the prefix; start after the prefix itself, whose relative name is empty.
    const inner = { prefix: prefix + query.prefix, startAfter: prefix + query.startAfter, limit: query.limit };
    return { query: inner, keep: everything, show: (name) => name.slice(prefix.length) };
  }

  /**
   * Appends need `append` for records, `fence` and `trim` for those commands (api.md 6.3), so a
   * token may be allowed to trim a stream without writing to it.
   */
  appendInput(input: AppendInput): void {
    const mask = this.principal.opMask;
    const needed = operationBit.append | operationBit.fence | operationBit.trim;
    if ((mask & needed) === needed) return;
    for (const record of input.records) {
      const headers = record.headers;
      let op: Operation = 'append';
      if (headers.length === 1 && headers[0]![0].length === 0) {
        const value = Buffer.from(headers[0]![1].buffer, headers[0]![1].byteOffset, headers[0]![1].byteLength);
        if (value.equals(fence)) op = 'fence';
        else if (value.equals(trim)) op = 'trim';
      }
      if ((mask & operationBit[op]) === 0) throw denied(`operation \`${op}\` not permitted`);
    }
  }

  get unrestricted(): boolean {
    return this.principal.opMask === allOperationsMask && this.principal === rootPrincipal;
  }

  private visible(set: AccessTokenScope['basins'], query: ListQuery): VisibleList | null {
    const narrowed = narrowList(set, query);
    if (!narrowed) return null;
    const exact = narrowed.exact;
    return { query: narrowed.query, keep: exact === undefined ? everything : (name) => name === exact, show: identity };
  }
}

function denied(what: string): S2Error {
  return errors.permissionDenied(`permission denied: ${what}`);
}
