/**
 * One record on screen: position, headers and body as text, JSON or hex. Contents only ever
 * become text nodes; long bodies are cut at a preview length with a "Show all" button.
 */
import {
  commandOf,
  formatBytes,
  formatTimestamp,
  meteredBytes,
  renderBody,
  visibleText,
  type BodyView,
  type ConsoleRecord,
} from '../bytes.js';
import { h, replace } from '../dom.js';

export function recordView(record: ConsoleRecord, view: BodyView): HTMLElement {
  const command = commandOf(record);
  const meta = h(
    'p',
    { class: 'record-meta' },
    h('strong', null, `seq_num ${record.seqNum}`),
    ' · ',
    h('span', { title: `timestamp ${record.timestamp}` }, formatTimestamp(record.timestamp)),
    ' · ',
    `${formatBytes(meteredBytes(record))} metered`,
  );
  if (command) {
    const what =
      command.kind === 'fence'
        ? `fence: fencing token set to "${command.token}"`
        : `trim: records before seq_num ${command.trimPoint ?? '(malformed)'} are trimmed`;
    return h('li', { class: 'record command' }, meta, h('p', { class: 'command-text' }, `Command record · ${what}`));
  }
  return h('li', { class: 'record' }, meta, headersView(record), bodyView(record.body, view));
}

function headersView(record: ConsoleRecord): HTMLElement | undefined {
  if (record.headers.length === 0) return undefined;
  return h(
    'dl',
    { class: 'headers', 'aria-label': 'Headers' },
    ...record.headers.flatMap(([name, value]) => [h('dt', null, visibleText(name)), h('dd', null, visibleText(value))]),
  );
}

function bodyView(body: Uint8Array, view: BodyView): HTMLElement {
  const wrap = h('div', { class: 'body' });
  const show = (full: boolean) => {
    const rendered = renderBody(body, view, full);
    if (rendered.as === 'empty') return replace(wrap, h('p', { class: 'muted' }, 'empty body'));
    const pre = h(
      'pre',
      { class: `body-${rendered.as}`, tabindex: 0, 'aria-label': `Body (${rendered.as})` },
      rendered.text,
    );
    const label = h('small', { class: 'muted' }, `${rendered.as}, ${formatBytes(body.length)}`);
    if (!rendered.truncated) return replace(wrap, label, pre);
    const more = h(
      'button',
      { type: 'button', class: 'link', onclick: () => show(true) },
      `Show all (${formatBytes(body.length)})`,
    );
    replace(wrap, label, pre, more);
  };
  show(false);
  return wrap;
}
