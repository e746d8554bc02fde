/**
 * The access token: asked for when the API answers 401 (a server run with `--auth`), or given
 * beforehand from the header. It is kept only in sessionStorage, so it is gone when the tab is.
 */
import { getToken, setToken } from './api.js';
import { field, h, replace } from './dom.js';

export function mountAuth(slot: HTMLElement, rerender: () => void): void {
  const message = h('p', { id: 'token-dialog-message' });
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false' });
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'token-dialog-title', 'aria-describedby': 'token-dialog-message' },
    h(
      'form',
      {
        method: 'dialog',
        onsubmit: (event: SubmitEvent) => {
          const submitter = event.submitter as HTMLButtonElement | null;
          if (submitter?.value === 'save' && input.value.trim()) {
            setToken(input.value.trim());
            rerender();
          }
          input.value = '';
        },
      },
      h('h2', { id: 'token-dialog-title' }, 'Access token'),
      message,
      field('Token', input, 'Sent as "Authorization: Bearer"; kept in this tab only (sessionStorage).'),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', value: 'save', class: 'primary' }, 'Use token'),
        h('button', { type: 'submit', value: 'cancel', formnovalidate: true }, 'Cancel'),
      ),
    ),
  );
  document.body.appendChild(dialog);

  const open = (why: string) => {
    replace(message, why);
    // Repeated 401s (the metrics page polls) update the message without stealing focus.
    if (dialog.open) return;
    dialog.showModal();
    input.focus();
  };

  const renderSlot = () => {
    const token = getToken();
    replace(
      slot,
      token
        ? [
            h('span', { class: 'token-state' }, 'Token set'),
            h('button', { type: 'button', onclick: () => (setToken(undefined), rerender()) }, 'Forget token'),
          ]
        : h('button', { type: 'button', onclick: () => open('Give the access token for this server.') }, 'Set token'),
    );
  };

  window.addEventListener('s2-unauthorized', (event) => {
    const detail = (event as CustomEvent<string>).detail;
    open(`The server asks for an access token (${detail}).`);
  });
  window.addEventListener('s2-token-changed', renderSlot);
  renderSlot();
}
