/**
 * Live server rates from `/metrics`: records and bytes appended and read per second, and the
 * append ack latency (mean and estimated p99), scraped every second while the page is open.
 */
import { apiHeaders, describeError, readResponse } from '../api.js';
import { formatBytes } from '../bytes.js';
import { LineChart } from '../chart.js';
import { h, Notice } from '../dom.js';
import { parsePrometheus, ratesBetween, type Rates, type Scrape } from '../prometheus.js';

const scrapeIntervalMs = 1_000;
/** Points kept per chart: two minutes at one scrape a second. */
const pointsMax = 120;

async function scrape(signal: AbortSignal): Promise<Scrape> {
  const response = await fetch('/metrics', {
    headers: apiHeaders({ headers: { accept: 'text/plain' } }),
    signal,
    credentials: 'omit',
    cache: 'no-store',
  });
  // A refusal (401 with access tokens, say) carries the API's JSON error; readResponse throws it.
  if (!response.ok) await readResponse(response);
  return { atMs: performance.now(), samples: parsePrometheus(await response.text()) };
}

export function metricsPage(signal: AbortSignal): HTMLElement {
  const notice = new Notice();
  const records = new LineChart('Records per second', pointsMax);
  const bytes = new LineChart('Bytes per second', pointsMax);
  const latency = new LineChart('Append ack latency (ms)', pointsMax);
  const history: Rates[] = [];
  const perSecond = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)}/s`;
  const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;

  const draw = () => {
    records.draw([
      {
        label: 'appended',
        className: 's-append',
        values: history.map((r) => r.appendRecordsPerSecond),
        format: perSecond,
      },
      { label: 'read', className: 's-read', values: history.map((r) => r.readRecordsPerSecond), format: perSecond },
    ]);
    bytes.draw([
      {
        label: 'appended',
        className: 's-append',
        values: history.map((r) => r.appendBytesPerSecond),
        format: (n) => `${formatBytes(n)}/s`,
      },
      {
        label: 'read',
        className: 's-read',
        values: history.map((r) => r.readBytesPerSecond),
        format: (n) => `${formatBytes(n)}/s`,
      },
    ]);
    latency.draw([
      { label: 'mean', className: 's-append', values: history.map((r) => r.ackLatencyMeanMs), format: ms },
      { label: 'p99 (estimated)', className: 's-p99', values: history.map((r) => r.ackLatencyP99Ms), format: ms },
    ]);
  };

  const loop = async () => {
    let previous: Scrape | undefined;
    while (!signal.aborted) {
      try {
        const current = await scrape(signal);
        if (previous) {
          history.push(ratesBetween(previous, current));
          if (history.length > pointsMax) history.shift();
          draw();
        }
        previous = current;
        notice.clear();
      } catch (error) {
        if (signal.aborted) return;
        notice.error(`Cannot read /metrics: ${describeError(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, scrapeIntervalMs));
    }
  };
  draw();
  void loop();
  return h(
    'div',
    null,
    h('h1', { tabindex: -1 }, 'Server metrics'),
    h(
      'p',
      { class: 'muted' },
      'Read from /metrics once a second; rates are over the last second, for the whole server.',
    ),
    notice.element,
    h('div', { class: 'charts' }, records.element, bytes.element, latency.element),
  );
}
