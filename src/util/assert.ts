/**
 * Invariant checks. A failed assertion is a bug in this server, never a client's fault:
 * client-caused conditions are typed `S2Error`s instead.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
