/**
 * A listing with a prefix filter and paging, shared by basins and streams. Listing pages by name
 * (`prefix`, `start_after`, `limit`, `has_more`, api.md 3.1/3.7); "Previous" remembers the pages
 * already seen, since the API only pages forward.
 */
import { describeError } from '../api.js';
import { field, h, Notice, replace } from '../dom.js';

export const listPageSize = 20;

export interface ListPage<T> {
  items: T[];
  hasMore: boolean;
}

export interface ListOptions<T> {
  /** Plural noun for captions and messages ("basins"). */
  noun: string;
  columns: string[];
  load(prefix: string, startAfter: string): Promise<ListPage<T>>;
  nameOf(item: T): string;
  /** Cells of one row; `row.reload()` refreshes the page after a change, `row.error()` reports a failure. */
  cells(item: T, row: RowActions): HTMLElement[];
}

export interface RowActions {
  reload(): void;
  error(message: string): void;
}

export interface ListView {
  element: HTMLElement;
  reload(): void;
}

export function listView<T>(options: ListOptions<T>): ListView {
  const notice = new Notice();
  const prefix = h('input', { type: 'search', name: 'prefix', autocomplete: 'off' });
  const body = h('tbody');
  const status = h('p', { class: 'list-status', role: 'status' });
  const previous = h('button', { type: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', disabled: true }, 'Next page');
  // start_after of every page shown so far; the last entry is the current page's.
  let pages: string[] = [''];
  let filter = '';

  const row: RowActions = { reload: () => void load(), error: (message) => notice.error(message) };
  // Only the latest load may draw: an earlier one answering late must not undo a newer page.
  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    notice.clear();
    status.textContent = `Loading ${options.noun}…`;
    try {
      const page = await options.load(filter, pages[pages.length - 1]!);
      if (mine !== generation) return;
      replace(body, ...page.items.map((item) => h('tr', null, ...options.cells(item, row))));
      if (page.items.length === 0) {
        replace(
          body,
          h(
            'tr',
            null,
            h(
              'td',
              { colspan: options.columns.length },
              `No ${options.noun}${filter ? ` starting with "${filter}"` : ''}.`,
            ),
          ),
        );
      }
      const first = (pages.length - 1) * listPageSize + 1;
      status.textContent = page.items.length
        ? `Showing ${options.noun} ${first}–${first + page.items.length - 1}${page.hasMore ? ' (more on the next page)' : ''}.`
        : '';
      previous.disabled = pages.length <= 1;
      next.disabled = !page.hasMore;
      next.onclick = () => {
        pages.push(options.nameOf(page.items[page.items.length - 1]!));
        void load();
      };
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = '';
      notice.error(describeError(error));
    }
  };
  previous.onclick = () => {
    pages.pop();
    void load();
  };

  const form = h(
    'form',
    {
      class: 'filter',
      role: 'search',
      onsubmit: (event: Event) => {
        event.preventDefault();
        filter = prefix.value;
        pages = [''];
        void load();
      },
    },
    field(`Filter ${options.noun} by prefix`, prefix),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const table = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      h('caption', { class: 'visually-hidden' }, options.noun),
      h('thead', null, h('tr', null, ...options.columns.map((c) => h('th', { scope: 'col' }, c)))),
      body,
    ),
  );
  void load();
  return {
    element: h(
      'section',
      { class: 'list' },
      form,
      notice.element,
      table,
      h('div', { class: 'paging' }, previous, next, status),
    ),
    reload: () => void load(),
  };
}
