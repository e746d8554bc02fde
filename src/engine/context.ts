/**
 * What every engine operation needs: the state, the log, and injected time, randomness and ids.
 */
import type { Clock } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import type { DurabilityRouter } from './durability.js';
import type { EngineState, StreamState } from './state.js';
import type { EngineLog } from './storage-errors.js';

export interface EngineContext {
  state: EngineState;
  /** The stream log, its errors mapped to API errors. */
  log: EngineLog;
  /** Where streamers register their appends to hear when they are durable. */
  durability: DurabilityRouter;
  clock: Clock;
  rand: Rand;
  /** New unique stream ids (never reused across incarnations). */
  newStreamId: () => string;
  /**
   * Appends the terminal trim of a deletion through the stream's write path and resolves once it
   * is durable. Owned by the data plane so it is sequenced after every earlier append.
   */
  terminalTrim: (stream: StreamState) => Promise<void>;
  /** Asks the background tasks to run soon (e.g. after a deletion). */
  triggerBackground: () => void;
  /** Set when graceful shutdown began: no new writes or live followers. */
  shuttingDown: boolean;
}
