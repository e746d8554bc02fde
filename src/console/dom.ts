/**
 * The console's whole view layer: `h()` builds elements from a tag, properties and children.
 * Text always goes in as text nodes, so nothing a server returns can become markup; lint bans
 * innerHTML and friends in src/console, and the page's CSP requires Trusted Types besides.
 */

export type Child = Node | string | number | bigint | boolean | null | undefined | Child[];

type Listener<E extends Event = Event> = (event: E) => void;

export interface Props {
  class?: string;
  /** Any other attribute or a known property (value, checked, disabled, ...). */
  [name: string]: unknown;
}

const properties = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'open', 'indeterminate']);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props) applyProps(element, props);
  append(element, children);
  return element;
}

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}

function applyProps(element: HTMLElement, props: Props): void {
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value as Listener);
    } else if (properties.has(name)) {
      (element as unknown as Record<string, unknown>)[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

let idCounter = 0;
/** A unique id, for label `for` and aria references. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form control: the label is always a real <label for>. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid('f');
  control.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint && h('small', { id: hintId }, hint),
  );
}

export function checkbox(
  label: string,
  checked: boolean,
  name?: string,
): { row: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { type: 'checkbox', checked, name });
  input.id = uid('c');
  return { input, row: h('div', { class: 'field check' }, input, h('label', { for: input.id }, label)) };
}

export function select(options: [value: string, label: string][], selected: string, name?: string): HTMLSelectElement {
  return h(
    'select',
    { name },
    ...options.map(([value, label]) => h('option', { value, selected: value === selected }, label)),
  );
}

/** A place for messages: errors are announced (role=alert), successes politely (role=status). */
export class Notice {
  readonly element = h('div', { class: 'notice', hidden: true });

  error(message: string): void {
    this.show('notice error', 'alert', message);
  }

  info(message: string): void {
    this.show('notice info', 'status', message);
  }

  clear(): void {
    this.element.hidden = true;
    this.element.removeAttribute('role');
    replace(this.element);
  }

  private show(className: string, role: string, message: string): void {
    this.element.className = className;
    this.element.setAttribute('role', role);
    this.element.hidden = false;
    replace(this.element, message);
  }
}

/** A button that asks again before doing something destructive: a second click confirms. */
export function confirmButton(label: string, confirmLabel: string, action: () => Promise<void> | void): HTMLElement {
  const wrap = h('span', { class: 'confirm' });
  const start = h('button', { type: 'button', class: 'danger', onclick: () => ask() }, label);
  const ask = () => {
    const yes = h('button', { type: 'button', class: 'danger', onclick: () => void action() }, confirmLabel);
    const no = h('button', { type: 'button', onclick: () => reset() }, 'Cancel');
    replace(wrap, yes, no);
    yes.focus();
  };
  const reset = () => {
    replace(wrap, start);
    start.focus();
  };
  replace(wrap, start);
  return wrap;
}
