/**
 * The `Access` of each request, set by the server's authenticate step before the handler runs
 * and read by the handlers' extraction helpers. A request that reaches a handler without one is
 * a wiring bug, and fails closed (500) rather than running unchecked.
 */
import type { RequestContext } from '../http.js';
import type { Access } from './access.js';

const accessByRequest = new WeakMap<RequestContext, Access>();

export function setAccess(ctx: RequestContext, access: Access): void {
  accessByRequest.set(ctx, access);
}

export function accessOf(ctx: RequestContext): Access {
  const access = accessByRequest.get(ctx);
  if (!access) throw new Error('request reached a handler without the authenticate step');
  return access;
}
