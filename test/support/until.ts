/**
 * Waiting for state that changes on its own (a session slot freed, a background pass finished)
 * where no event announces it: poll, and fail with a message naming what never happened.
 */

export interface UntilOptions {
  /** Give up after this long. Generous: it only bounds a hang, it does not measure anything. */
  timeoutMs?: number;
  /** Time between two checks. */
  intervalMs?: number;
}

/** Resolves once `check` holds; rejects with "timed out after N ms waiting until <what>" otherwise. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 20_000, intervalMs = 5 }: UntilOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
