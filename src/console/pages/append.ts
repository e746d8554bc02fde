/**
 * Writing to a stream: the append form (body, headers, optional match_seq_num and fencing token,
 * api.md 7.1-7.2) and the two commands, fence and trim (api.md 6.3), which are appends too.
 */
import { ApiError, describeError } from '../api.js';
import { trimBody, utf8 } from '../bytes.js';
import { field, h, Notice } from '../dom.js';
import { parseHeaderLines, parseU64 } from '../input.js';
import { append, describeConditionFailure, type AppendAck, type AppendInput, type StreamRef } from '../records.js';

function optionalToken(input: HTMLInputElement): string | undefined {
  return input.value === '' ? undefined : input.value;
}

function ackText(ack: AppendAck): string {
  const last = ack.end.seqNum - 1n;
  const range = last === ack.start.seqNum ? `seq_num ${last}` : `seq_nums ${ack.start.seqNum}–${last}`;
  return `Appended ${range}; the tail is now ${ack.tail.seqNum}.`;
}

/** Runs one append and reports the outcome in `notice` (the API's words on failure). */
async function submit(ref: StreamRef, notice: Notice, build: () => AppendInput, done: (ack: AppendAck) => void) {
  notice.clear();
  let input: AppendInput;
  try {
    input = build();
  } catch (error) {
    return notice.error(describeError(error));
  }
  try {
    const ack = await append(ref, input);
    notice.info(ackText(ack));
    done(ack);
  } catch (error) {
    const condition = error instanceof ApiError ? describeConditionFailure(error) : undefined;
    notice.error(condition ?? describeError(error));
  }
}

export function appendPanel(ref: StreamRef, appended: (ack: AppendAck) => void): HTMLElement {
  const notice = new Notice();
  const body = h('textarea', { name: 'body', rows: 4 });
  const headers = h('textarea', { name: 'headers', rows: 2, placeholder: 'content-type: application/json' });
  const matchSeqNum = h('input', { type: 'text', inputmode: 'numeric', name: 'match_seq_num', autocomplete: 'off' });
  const fencingToken = h('input', { type: 'text', name: 'fencing_token', autocomplete: 'off' });
  const form = h(
    'form',
    {
      class: 'panel',
      'aria-labelledby': 'append-title',
      onsubmit: (event: Event) => {
        event.preventDefault();
        void submit(
          ref,
          notice,
          () => ({
            records: [{ headers: parseHeaderLines(headers.value), body: utf8(body.value) }],
            matchSeqNum: parseU64(matchSeqNum.value, 'match_seq_num'),
            fencingToken: optionalToken(fencingToken),
          }),
          (ack) => {
            body.value = '';
            appended(ack);
          },
        );
      },
    },
    h('h2', { id: 'append-title' }, 'Append a record'),
    field('Body', body, 'Sent as UTF-8 text.'),
    field('Headers', headers, 'One per line: name: value.'),
    h(
      'div',
      { class: 'row' },
      field('match_seq_num (optional)', matchSeqNum, 'Append only if this is the next seq_num.'),
      field('Fencing token (optional)', fencingToken, 'Append only if the stream has this token.'),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Append')),
    notice.element,
  );
  return form;
}

export function commandsPanel(ref: StreamRef, appended: (ack: AppendAck) => void): HTMLElement {
  const fenceNotice = new Notice();
  const newToken = h('input', { type: 'text', name: 'new_token', autocomplete: 'off' });
  const fenceCurrent = h('input', { type: 'text', name: 'current_token', autocomplete: 'off' });
  const fence = h(
    'form',
    {
      'aria-labelledby': 'fence-title',
      onsubmit: (event: Event) => {
        event.preventDefault();
        void submit(
          ref,
          fenceNotice,
          () => ({
            records: [{ headers: [[new Uint8Array(0), utf8('fence')]], body: utf8(newToken.value) }],
            fencingToken: optionalToken(fenceCurrent),
          }),
          appended,
        );
      },
    },
    h('h3', { id: 'fence-title' }, 'Fence'),
    h(
      'p',
      { class: 'muted' },
      'Sets the stream’s fencing token; later appends that carry a token must carry this one.',
    ),
    h(
      'div',
      { class: 'row' },
      field('New fencing token', newToken, 'Up to 36 bytes; empty clears it.'),
      field('Current token (optional)', fenceCurrent),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Fence')),
    fenceNotice.element,
  );

  const trimNotice = new Notice();
  const trimPoint = h('input', {
    type: 'text',
    inputmode: 'numeric',
    name: 'trim_point',
    autocomplete: 'off',
    required: true,
  });
  const trimToken = h('input', { type: 'text', name: 'trim_token', autocomplete: 'off' });
  const trim = h(
    'form',
    {
      'aria-labelledby': 'trim-title',
      onsubmit: (event: Event) => {
        event.preventDefault();
        void submit(
          ref,
          trimNotice,
          () => {
            const point = parseU64(trimPoint.value, 'Trim point');
            if (point === undefined) throw new Error('Trim point: give the first seq_num to keep');
            return {
              records: [{ headers: [[new Uint8Array(0), utf8('trim')]], body: trimBody(point) }],
              fencingToken: optionalToken(trimToken),
            };
          },
          appended,
        );
      },
    },
    h('h3', { id: 'trim-title' }, 'Trim'),
    h('p', { class: 'muted' }, 'Records before this seq_num are deleted in the background; the tail does not move.'),
    h(
      'div',
      { class: 'row' },
      field('Trim point (first seq_num to keep)', trimPoint),
      field('Fencing token (optional)', trimToken),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, 'Trim')),
    trimNotice.element,
  );
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'commands-title' },
    h('h2', { id: 'commands-title' }, 'Commands'),
    fence,
    trim,
  );
}
