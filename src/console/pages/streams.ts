/**
 * The streams of a basin: list (prefix filter, paging) with each stream's tail, create with a
 * config, reconfigure, delete (api.md 3.7-3.13).
 */
import { api, describeError } from '../api.js';
import { formatTimestamp } from '../bytes.js';
import { StreamConfigFields } from '../config-form.js';
import { confirmButton, field, h, Notice, replace } from '../dom.js';
import type { Json } from '../json.js';
import { checkTail } from '../records.js';
import { hrefOf } from '../router.js';
import { listPageSize, listView } from './list.js';

interface StreamInfo {
  name: string;
  created_at: string;
  deleted_at: string | null;
  cipher: string | null;
}

export function streamsPage(basin: string): HTMLElement {
  const editor = h('div', { class: 'editor-slot' });
  // Listing streams does not check the basin (api.md 3.7): ask for it, so a wrong name says so.
  const basinNotice = new Notice();
  api({ path: `/v1/basins/${encodeURIComponent(basin)}` }).catch((error) => basinNotice.error(describeError(error)));
  const list = listView<StreamInfo>({
    noun: 'streams',
    columns: ['Name', 'Tail', 'Created', 'Cipher', 'Actions'],
    load: async (prefix, startAfter) => {
      const body = await api<{ streams: StreamInfo[]; has_more: boolean }>({
        path: '/v1/streams',
        basin,
        query: { prefix: prefix || undefined, start_after: startAfter || undefined, limit: listPageSize },
      });
      return { items: body.streams, hasMore: body.has_more };
    },
    nameOf: (stream) => stream.name,
    cells: (stream, row) => [
      h('td', null, h('a', { href: hrefOf({ page: 'stream', basin, stream: stream.name }) }, stream.name)),
      tailCell(basin, stream),
      h('td', null, h('time', { datetime: stream.created_at }, stream.created_at)),
      h('td', null, stream.cipher ?? 'none'),
      h(
        'td',
        { class: 'row-actions' },
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Configure ${stream.name}`,
            onclick: () => openEditor(editor, basin, stream.name, row.reload),
          },
          'Configure',
        ),
        confirmButton('Delete', `Delete ${stream.name}`, async () => {
          try {
            await api({ method: 'DELETE', path: `/v1/streams/${encodeURIComponent(stream.name)}`, basin });
            row.reload();
          } catch (error) {
            row.error(describeError(error));
          }
        }),
      ),
    ],
  });
  return h(
    'div',
    null,
    h(
      'nav',
      { 'aria-label': 'Breadcrumb', class: 'crumbs' },
      h('a', { href: hrefOf({ page: 'basins' }) }, 'Basins'),
      ' / ',
    ),
    h('h1', { tabindex: -1 }, basin),
    basinNotice.element,
    list.element,
    editor,
    createStreamForm(basin, () => list.reload()),
  );
}

/** The tail is one more request per stream; the row shows while it loads. */
function tailCell(basin: string, stream: StreamInfo): HTMLElement {
  const cell = h('td', { class: 'tail' }, stream.deleted_at ? `deleting since ${stream.deleted_at}` : '…');
  if (stream.deleted_at) return cell;
  checkTail({ basin, stream: stream.name }).then(
    (tail) =>
      replace(
        cell,
        `next seq_num ${tail.seqNum}`,
        h('br'),
        h('small', null, tail.timestamp ? formatTimestamp(tail.timestamp) : 'no records yet'),
      ),
    (error) => replace(cell, h('span', { class: 'error-text' }, describeError(error))),
  );
  return cell;
}

function createStreamForm(basin: string, created: () => void): HTMLElement {
  const notice = new Notice();
  const name = h('input', { type: 'text', name: 'stream', required: true, autocomplete: 'off', spellcheck: 'false' });
  let config = new StreamConfigFields('Stream config', undefined, 'basin default');
  const configSlot = h('div', null, config.element);
  return h(
    'form',
    {
      class: 'panel',
      'aria-labelledby': 'create-stream-title',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        notice.clear();
        try {
          const stream = name.value;
          await api({ method: 'POST', path: '/v1/streams', basin, body: { stream, config: config.value('create') } });
          notice.info(`Created stream ${stream}.`);
          name.value = '';
          config = new StreamConfigFields('Stream config', undefined, 'basin default');
          replace(configSlot, config.element);
          created();
        } catch (error) {
          notice.error(describeError(error));
        }
      },
    },
    h('h2', { id: 'create-stream-title' }, 'Create a stream'),
    field('Stream name', name, '1 to 512 bytes; may contain "/".'),
    configSlot,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create stream')),
    notice.element,
  );
}

async function openEditor(slot: HTMLElement, basin: string, stream: string, saved: () => void): Promise<void> {
  const notice = new Notice();
  const title = h('h2', { tabindex: -1 }, `Configure ${stream}`);
  const panel = h('section', { class: 'panel' }, title, notice.element);
  replace(slot, panel);
  title.focus();
  const path = `/v1/streams/${encodeURIComponent(stream)}`;
  let current: Json;
  try {
    current = await api({ path, basin });
  } catch (error) {
    notice.error(describeError(error));
    return;
  }
  const config = new StreamConfigFields('Stream config', current, 'basin default');
  panel.appendChild(
    h(
      'form',
      {
        onsubmit: async (event: Event) => {
          event.preventDefault();
          notice.clear();
          try {
            await api({ method: 'PATCH', path, basin, body: config.value('patch') });
            notice.info(`Saved the configuration of ${stream}.`);
            saved();
          } catch (error) {
            notice.error(describeError(error));
          }
        },
      },
      config.element,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Save configuration'),
        h('button', { type: 'button', onclick: () => replace(slot) }, 'Close'),
      ),
    ),
  );
}
