/**
 * Live consumers in a worker thread. They run off the producer's event loop (as `s2 bench` runs its
 * reader concurrently), and measure end-to-end latency per record: delivery time minus the
 * timestamp the producer wrote into the record's first 8 bytes (same monotonic clock).
 *
 * The same file is the worker's entry point and the main-thread API (`Followers`).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { openAdapter } from './adapters.js';
import { timestampOf } from './harness.js';
import { Samples, summarizeNs, type LatencySummary } from './stats.js';
import type { Endpoint, Subscription } from './types.js';

interface FollowerJob {
  endpoint: Endpoint;
  stream: string;
  recordBytes: number;
  followers: number;
}

type ToWorker = { expected: number; settleMs: number };
type FromWorker =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'done'; counts: number[]; e2e: LatencySummary; timedOut: boolean };

export interface FollowResult {
  counts: number[];
  e2e: LatencySummary;
  /** True when some follower had not seen the expected count when the settle time ran out. */
  timedOut: boolean;
}

export class Followers {
  private constructor(
    private readonly worker: Worker,
    private readonly messages: FromWorker[],
    private wake: () => void,
  ) {}

  /** Starts `n` live readers of `stream` (each on its own connection) and resolves once all are subscribed. */
  static async start(job: FollowerJob): Promise<Followers> {
    const self = new URL(import.meta.url);
    // Workers do not inherit tsx's loader hooks, so a TypeScript entry registers them first.
    const worker = self.pathname.endsWith('.ts')
      ? new Worker(
          `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(self.href)}); })`,
          { eval: true, workerData: job },
        )
      : new Worker(self, { workerData: job });
    const messages: FromWorker[] = [];
    const f = new Followers(worker, messages, () => {});
    worker.on('message', (m: FromWorker) => {
      messages.push(m);
      f.wake();
    });
    worker.on('error', (e) => {
      messages.push({ type: 'error', message: e.message });
      f.wake();
    });
    const first = await f.next(30_000);
    if (first.type !== 'ready') {
      await worker.terminate();
      throw new Error(`followers did not start: ${first.type === 'error' ? first.message : first.type}`);
    }
    return f;
  }

  private async next(timeoutMs: number): Promise<FromWorker> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return { type: 'error', message: `no answer from the follower thread in ${timeoutMs} ms` };
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.messages.shift()!;
  }

  /** Tells the readers how many records were acknowledged; they stop on reaching it or after `settleMs`. */
  async finish(expected: number, settleMs: number): Promise<FollowResult> {
    this.worker.postMessage({ expected, settleMs } satisfies ToWorker);
    const m = await this.next(settleMs + 15_000);
    await this.worker.terminate();
    if (m.type !== 'done') throw new Error(m.type === 'error' ? m.message : 'unexpected follower message');
    return { counts: m.counts, e2e: m.e2e, timedOut: m.timedOut };
  }
}

async function workerMain(job: FollowerJob): Promise<void> {
  const port = parentPort!;
  const adapter = await openAdapter(job.endpoint);
  const lat = new Samples();
  const counts = new Array<number>(job.followers).fill(0);
  let expected = Infinity;
  let check = () => {};
  const subs: Subscription[] = [];
  for (let i = 0; i < job.followers; i++) {
    subs.push(
      await adapter.follow(job.stream, job.recordBytes, (head, _len, deliveredNs) => {
        lat.push(deliveredNs - timestampOf(head));
        if (++counts[i]! >= expected) check();
      }),
    );
  }
  port.postMessage({ type: 'ready' } satisfies FromWorker);
  const { expected: n, settleMs } = await new Promise<ToWorker>((resolve) => port.once('message', resolve));
  expected = n;
  const allThere = () => counts.every((c) => c >= expected);
  let timedOut = false;
  if (!allThere()) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timedOut = true;
        resolve();
      }, settleMs);
      check = () => {
        if (allThere()) {
          clearTimeout(t);
          resolve();
        }
      };
    });
  }
  // Stop counting before closing, so records delivered during teardown cannot change the result.
  const finalCounts = counts.slice();
  const e2e = summarizeNs(lat.view());
  await Promise.allSettled(subs.map((s) => s.close()));
  await adapter.close().catch(() => {});
  port.postMessage({ type: 'done', counts: finalCounts, e2e, timedOut } satisfies FromWorker);
}

if (!isMainThread && parentPort && (workerData as FollowerJob | undefined)?.endpoint) {
  workerMain(workerData as FollowerJob).catch((e: unknown) => {
    parentPort!.postMessage({
      type: 'error',
      message: e instanceof Error ? e.message : String(e),
    } satisfies FromWorker);
  });
}
