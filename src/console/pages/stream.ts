/**
 * One stream: its tail, records read from a seq_num, a timestamp or N back and paged through
 * (unary reads, api.md 8.5), the live tail followed over SSE (api.md 8.4) with pause and rate
 * counters, and the append and command forms.
 */
import { describeError } from '../api.js';
import { formatBytes, formatTimestamp, meteredBytes, type BodyView, type ConsoleRecord } from '../bytes.js';
import { field, h, Notice, replace, select } from '../dom.js';
import { parseTimestampInput, parseU64 } from '../input.js';
import { checkTail, follow, readPage, type Position, type ReadStart, type StreamRef } from '../records.js';
import { hrefOf } from '../router.js';
import { appendPanel, commandsPanel } from './append.js';
import { recordView } from './record-view.js';

/** Records kept on screen while following; older ones scroll away. */
const followKeepMax = 500;
/** Rates average over this window. */
const rateWindowMs = 2_000;

export function streamPage(basin: string, stream: string, signal: AbortSignal): HTMLElement {
  const ref: StreamRef = { basin, stream };
  const state = new StreamState(ref, signal);
  return h(
    'div',
    { class: 'stream-page' },
    h(
      'nav',
      { 'aria-label': 'Breadcrumb', class: 'crumbs' },
      h('a', { href: hrefOf({ page: 'basins' }) }, 'Basins'),
      ' / ',
      h('a', { href: hrefOf({ page: 'streams', basin }) }, basin),
      ' / ',
    ),
    h('h1', { tabindex: -1 }, stream),
    state.tailLine,
    h(
      'div',
      { class: 'stream-layout' },
      h(
        'div',
        { class: 'stream-main' },
        state.readForm(),
        state.followBar(),
        state.notice.element,
        h(
          'section',
          { 'aria-labelledby': 'records-title', class: 'records-section' },
          h('h2', { id: 'records-title' }, 'Records'),
          state.pageInfo,
          state.list,
          state.pager,
        ),
      ),
      h(
        'div',
        { class: 'stream-side' },
        appendPanel(ref, () => void state.refreshTail()),
        commandsPanel(ref, () => void state.refreshTail()),
        encryptionKeyPanel(ref),
      ),
    ),
  );
}

class StreamState {
  readonly notice = new Notice();
  readonly tailLine = h('p', { class: 'tail-line', role: 'status' }, 'Tail: …');
  readonly list = h('ol', { class: 'records', 'aria-label': 'Records' });
  readonly pageInfo = h('p', { class: 'muted' });
  readonly pager: HTMLElement;
  private readonly previous = h('button', { type: 'button', disabled: true }, 'Previous page');
  private readonly next = h('button', { type: 'button', disabled: true }, 'Next page');
  private readonly viewSelect = select(
    [
      ['auto', 'auto'],
      ['text', 'text'],
      ['json', 'JSON (pretty)'],
      ['hex', 'hex'],
    ],
    'auto',
  );
  private records: ConsoleRecord[] = [];
  private count = 20;
  private following: Follow | undefined;
  private readGeneration = 0;
  private tailGeneration = 0;

  constructor(
    private readonly ref: StreamRef,
    private readonly pageSignal: AbortSignal,
  ) {
    this.pager = h('div', { class: 'paging' }, this.previous, this.next);
    this.previous.onclick = () => {
      const first = this.records[0]?.seqNum ?? 0n;
      const start = first > BigInt(this.count) ? first - BigInt(this.count) : 0n;
      void this.read({ seqNum: start });
    };
    this.next.onclick = () => {
      const last = this.records[this.records.length - 1];
      if (last) void this.read({ seqNum: last.seqNum + 1n });
    };
    this.viewSelect.onchange = () => this.renderRecords();
    pageSignal.addEventListener('abort', () => this.following?.stop());
    void this.read({ tailOffset: BigInt(this.count) });
  }

  async refreshTail(): Promise<void> {
    const mine = ++this.tailGeneration;
    try {
      const tail = await checkTail(this.ref);
      if (mine === this.tailGeneration) this.showTail(tail);
    } catch (error) {
      if (mine !== this.tailGeneration) return;
      replace(this.tailLine, h('span', { class: 'error-text' }, `Tail unavailable: ${describeError(error)}`));
    }
  }

  /** Live reads report the tail as they go; a newer report replaces any check still in flight. */
  showTail(tail: Position): void {
    this.tailGeneration += 1;
    replace(
      this.tailLine,
      `Tail: next seq_num ${tail.seqNum}`,
      tail.timestamp ? `, last record at ${formatTimestamp(tail.timestamp)}` : ', no records yet',
    );
  }

  readForm(): HTMLElement {
    const kind = select(
      [
        ['back', 'records back from the tail'],
        ['seq_num', 'seq_num'],
        ['timestamp', 'timestamp'],
      ],
      'back',
      'start',
    );
    const value = h('input', { type: 'text', name: 'from', value: '20', autocomplete: 'off' });
    const count = h('input', { type: 'number', name: 'count', min: 1, max: 1000, value: String(this.count) });
    return h(
      'form',
      {
        class: 'panel read-form',
        'aria-label': 'Read records',
        onsubmit: (event: Event) => {
          event.preventDefault();
          this.notice.clear();
          try {
            this.count = Math.min(1000, Math.max(1, Number(count.value) || 20));
            const text = value.value;
            let start: ReadStart;
            if (kind.value === 'timestamp') start = { timestamp: parseTimestampInput(text) };
            else if (kind.value === 'seq_num') start = { seqNum: parseU64(text, 'seq_num') ?? 0n };
            else start = { tailOffset: parseU64(text, 'Records back') ?? BigInt(this.count) };
            void this.read(start);
          } catch (error) {
            this.notice.error(describeError(error));
          }
        },
      },
      h(
        'div',
        { class: 'row' },
        field('Start from', kind),
        field('Value', value, 'A number, or a date for timestamps.'),
        field('Page size', count),
        field('Show bodies as', this.viewSelect),
      ),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Read')),
    );
  }

  async read(start: ReadStart): Promise<void> {
    this.following?.stop();
    this.notice.clear();
    const mine = ++this.readGeneration;
    void this.refreshTail();
    try {
      const result = await readPage(this.ref, start, this.count);
      // A read answering after a newer one (or after following began) must not draw over it.
      if (mine !== this.readGeneration) return;
      if (result.kind === 'beyond-tail') {
        this.records = [];
        this.pageInfo.textContent = `No records from there: the tail is at seq_num ${result.tail.seqNum}.`;
      } else {
        this.records = result.records;
        const first = this.records[0];
        const last = this.records[this.records.length - 1];
        this.pageInfo.textContent =
          first && last
            ? `seq_num ${first.seqNum} to ${last.seqNum} (${this.records.length} ${this.records.length === 1 ? 'record' : 'records'})`
            : 'No records.';
      }
      this.renderRecords();
      this.previous.disabled = (this.records[0]?.seqNum ?? 0n) === 0n;
      this.next.disabled = this.records.length === 0;
    } catch (error) {
      if (mine === this.readGeneration) this.notice.error(describeError(error));
    }
  }

  renderRecords(): void {
    const view = this.viewSelect.value as BodyView;
    replace(this.list, ...this.records.map((record) => recordView(record, view)));
  }

  followBar(): HTMLElement {
    const start = h('button', { type: 'button', class: 'primary' }, 'Follow live');
    const pause = h('button', { type: 'button', hidden: true }, 'Pause');
    const stop = h('button', { type: 'button', hidden: true }, 'Stop');
    const status = h('span', { class: 'follow-status', 'aria-live': 'off' });
    const rates = h('span', { class: 'rates' });
    const controls = { start, pause, stop, status, rates };
    start.onclick = () => {
      this.readGeneration += 1;
      this.following?.stop();
      this.records = [];
      this.renderRecords();
      this.pageInfo.textContent = 'Following the tail: new records appear below as they are acknowledged.';
      this.previous.disabled = true;
      this.next.disabled = true;
      this.following = new Follow(this.ref, controls, this.notice, {
        records: (batch) => this.onLive(batch),
        tail: (tail) => this.showTail(tail),
      });
      if (this.pageSignal.aborted) this.following.stop();
    };
    return h(
      'div',
      { class: 'follow-bar', role: 'group', 'aria-label': 'Follow the tail' },
      start,
      pause,
      stop,
      status,
      rates,
    );
  }

  private onLive(batch: ConsoleRecord[]): void {
    const view = this.viewSelect.value as BodyView;
    this.records.push(...batch);
    const fragment = document.createDocumentFragment();
    for (const record of batch) fragment.appendChild(recordView(record, view));
    this.list.appendChild(fragment);
    const excess = this.records.length - followKeepMax;
    if (excess > 0) {
      this.records.splice(0, excess);
      for (let i = 0; i < excess; i++) this.list.firstElementChild?.remove();
    }
  }
}

interface FollowControls {
  start: HTMLButtonElement;
  pause: HTMLButtonElement;
  stop: HTMLButtonElement;
  status: HTMLElement;
  rates: HTMLElement;
}

/** One live follow: pausing closes the connection; resuming reads on from the next seq_num, so nothing is lost. */
class Follow {
  private controller: AbortController | undefined;
  private nextSeqNum: bigint | undefined;
  private window: { atMs: number; records: number; bytes: number }[] = [];
  private totalRecords = 0;
  private totalBytes = 0;
  private readonly timer: number;
  private stopped = false;

  constructor(
    private readonly ref: StreamRef,
    private readonly ui: FollowControls,
    private readonly notice: Notice,
    private readonly on: { records(records: ConsoleRecord[]): void; tail(tail: Position): void },
  ) {
    ui.start.hidden = true;
    ui.pause.hidden = false;
    ui.stop.hidden = false;
    ui.pause.onclick = () => (this.controller ? this.pause() : this.resume());
    ui.stop.onclick = () => this.stop();
    this.timer = window.setInterval(() => this.showRates(), 500);
    this.resume();
    ui.pause.focus();
  }

  private resume(): void {
    const controller = new AbortController();
    this.controller = controller;
    this.ui.pause.textContent = 'Pause';
    this.ui.status.textContent =
      this.nextSeqNum === undefined ? 'Following from the tail' : `Following from seq_num ${this.nextSeqNum}`;
    follow(this.ref, this.nextSeqNum, controller.signal, {
      records: (records, tail) => {
        const last = records[records.length - 1];
        if (last) this.nextSeqNum = last.seqNum + 1n;
        const bytes = records.reduce((sum, r) => sum + meteredBytes(r), 0);
        this.window.push({ atMs: performance.now(), records: records.length, bytes });
        this.totalRecords += records.length;
        this.totalBytes += bytes;
        this.on.records(records);
        if (tail) this.on.tail(tail);
      },
      heartbeat: (tail) => {
        this.nextSeqNum ??= tail.seqNum;
        this.on.tail(tail);
      },
    }).then(
      () => {
        if (this.controller === controller && !controller.signal.aborted) this.ended('The read ended.');
      },
      (error) => {
        if (this.controller === controller) this.ended(describeError(error), true);
      },
    );
  }

  private pause(): void {
    this.controller?.abort();
    this.controller = undefined;
    this.ui.pause.textContent = 'Resume';
    this.ui.status.textContent = `Paused${this.nextSeqNum === undefined ? '' : ` before seq_num ${this.nextSeqNum}`}`;
  }

  private ended(message: string, failed = false): void {
    this.stop();
    if (failed) this.notice.error(message);
    else this.ui.status.textContent = message;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.controller?.abort();
    this.controller = undefined;
    window.clearInterval(this.timer);
    this.ui.start.hidden = false;
    this.ui.pause.hidden = true;
    this.ui.stop.hidden = true;
    this.ui.status.textContent = 'Not following.';
    this.ui.rates.textContent = '';
  }

  private showRates(): void {
    const now = performance.now();
    this.window = this.window.filter((entry) => now - entry.atMs <= rateWindowMs);
    const seconds = rateWindowMs / 1000;
    const records = this.window.reduce((sum, e) => sum + e.records, 0) / seconds;
    const bytes = this.window.reduce((sum, e) => sum + e.bytes, 0) / seconds;
    const total = `${this.totalRecords} ${this.totalRecords === 1 ? 'record' : 'records'} (${formatBytes(this.totalBytes)}) received`;
    this.ui.rates.textContent = `${records.toFixed(1)} records/s · ${formatBytes(bytes)}/s · ${total}`;
  }
}

function encryptionKeyPanel(ref: StreamRef): HTMLElement {
  const key = h('input', { type: 'password', name: 'encryption_key', autocomplete: 'off' });
  key.oninput = () => (ref.encryptionKey = key.value.trim() || undefined);
  return h(
    'details',
    { class: 'panel' },
    h('summary', null, 'Encryption key'),
    h(
      'form',
      { onsubmit: (event: Event) => event.preventDefault() },
      field(
        'S2-Encryption-Key',
        key,
        'Only for streams with a cipher: base64 of the 32-byte key. Kept in this page only.',
      ),
    ),
  );
}
