/**
 * Basins: list (prefix filter, paging), create with a config, reconfigure, delete (api.md 3.1-3.6).
 */
import { api, describeError } from '../api.js';
import { BasinConfigFields } from '../config-form.js';
import { confirmButton, field, h, Notice, replace } from '../dom.js';
import type { Json } from '../json.js';
import { hrefOf } from '../router.js';
import { listPageSize, listView } from './list.js';

interface BasinInfo {
  name: string;
  created_at: string;
  deleted_at: string | null;
  state: string;
}

export function basinsPage(): HTMLElement {
  const editor = h('div', { class: 'editor-slot' });
  const list = listView<BasinInfo>({
    noun: 'basins',
    columns: ['Name', 'State', 'Created', 'Actions'],
    load: async (prefix, startAfter) => {
      const body = await api<{ basins: BasinInfo[]; has_more: boolean }>({
        path: '/v1/basins',
        query: { prefix: prefix || undefined, start_after: startAfter || undefined, limit: listPageSize },
      });
      return { items: body.basins, hasMore: body.has_more };
    },
    nameOf: (basin) => basin.name,
    cells: (basin, row) => [
      h('td', null, h('a', { href: hrefOf({ page: 'streams', basin: basin.name }) }, basin.name)),
      h('td', null, basin.deleted_at ? `deleting since ${basin.deleted_at}` : basin.state),
      h('td', null, h('time', { datetime: basin.created_at }, basin.created_at)),
      h(
        'td',
        { class: 'row-actions' },
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Configure ${basin.name}`,
            onclick: () => openEditor(editor, basin.name, row.reload),
          },
          'Configure',
        ),
        confirmButton(`Delete`, `Delete ${basin.name}`, async () => {
          try {
            await api({ method: 'DELETE', path: `/v1/basins/${encodeURIComponent(basin.name)}` });
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
    h('h1', { tabindex: -1 }, 'Basins'),
    list.element,
    editor,
    createBasinForm(() => list.reload()),
  );
}

function createBasinForm(created: () => void): HTMLElement {
  const notice = new Notice();
  const name = h('input', { type: 'text', name: 'basin', required: true, autocomplete: 'off', spellcheck: 'false' });
  let config = new BasinConfigFields(undefined);
  const configSlot = h('div', null, config.element);
  const form = h(
    'form',
    {
      class: 'panel',
      'aria-labelledby': 'create-basin-title',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        notice.clear();
        try {
          const basin = name.value.trim();
          await api({ method: 'POST', path: '/v1/basins', body: { basin, config: config.value('create') } });
          notice.info(`Created basin ${basin}.`);
          name.value = '';
          config = new BasinConfigFields(undefined);
          replace(configSlot, config.element);
          created();
        } catch (error) {
          notice.error(describeError(error));
        }
      },
    },
    h('h2', { id: 'create-basin-title' }, 'Create a basin'),
    field('Basin name', name, '8 to 48 characters: lowercase letters, digits and hyphens.'),
    configSlot,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create basin')),
    notice.element,
  );
  return form;
}

async function openEditor(slot: HTMLElement, basin: string, saved: () => void): Promise<void> {
  const notice = new Notice();
  const title = h('h2', { tabindex: -1 }, `Configure ${basin}`);
  replace(slot, h('section', { class: 'panel' }, title, notice.element));
  title.focus();
  let current: Json;
  try {
    current = await api({ path: `/v1/basins/${encodeURIComponent(basin)}` });
  } catch (error) {
    notice.error(describeError(error));
    return;
  }
  const config = new BasinConfigFields(current);
  const form = h(
    'form',
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        notice.clear();
        try {
          await api({ method: 'PATCH', path: `/v1/basins/${encodeURIComponent(basin)}`, body: config.value('patch') });
          notice.info(`Saved the configuration of ${basin}.`);
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
  );
  slot.firstElementChild?.appendChild(form);
}
