/**
 * Form fields for StreamConfig and BasinConfig (api.md 4.2-4.3), used to create (unset fields
 * are left out, so they resolve from the basin's defaults, api.md 5.1) and to reconfigure (every
 * field is sent: a value sets it, null resets it, api.md 5.3).
 */
import { checkbox, field, h, select } from './dom.js';
import { parseDurationSecs } from './input.js';
import type { Json } from './json.js';

type Fields = Record<string, Json | undefined>;
/** A config to send: values, nulls (reset) and nested configs. */
export type ConfigBody = Record<string, unknown>;

function obj(json: Json | undefined): Fields {
  return json !== null && typeof json === 'object' && !Array.isArray(json) ? json : {};
}

/** `unset` is the first option of every choice: what the layer below decides. */
export class StreamConfigFields {
  readonly element: HTMLFieldSetElement;
  private readonly storageClass: HTMLSelectElement;
  private readonly retention: HTMLSelectElement;
  private readonly retentionAge: HTMLInputElement;
  private readonly mode: HTMLSelectElement;
  private readonly uncapped: HTMLSelectElement;
  private readonly deleteOnEmpty: HTMLInputElement;

  constructor(legend: string, initial: Json | undefined, unsetLabel: string) {
    const config = obj(initial);
    const retention = obj(config.retention_policy);
    const timestamping = obj(config.timestamping);
    const doe = obj(config.delete_on_empty);
    this.storageClass = select(
      [
        ['', unsetLabel],
        ['express', 'express'],
        ['standard', 'standard'],
      ],
      String(config.storage_class ?? ''),
    );
    const retentionKind = 'infinite' in retention ? 'infinite' : 'age' in retention ? 'age' : '';
    this.retention = select(
      [
        ['', unsetLabel],
        ['age', 'by age'],
        ['infinite', 'keep forever'],
      ],
      retentionKind,
    );
    this.retentionAge = h('input', {
      type: 'text',
      inputmode: 'text',
      value: 'age' in retention ? String(retention.age) : '',
    });
    this.mode = select(
      [
        ['', unsetLabel],
        ['client-prefer', 'client-prefer'],
        ['client-require', 'client-require'],
        ['arrival', 'arrival'],
      ],
      String(timestamping.mode ?? ''),
    );
    this.uncapped = select(
      [
        ['', unsetLabel],
        ['false', 'no (future timestamps are capped)'],
        ['true', 'yes (any timestamp)'],
      ],
      timestamping.uncapped === undefined || timestamping.uncapped === null ? '' : String(timestamping.uncapped),
    );
    this.deleteOnEmpty = h('input', {
      type: 'text',
      value: doe.min_age_secs === undefined || doe.min_age_secs === null ? '' : String(doe.min_age_secs),
    });
    this.element = h(
      'fieldset',
      { class: 'config' },
      h('legend', null, legend),
      field('Storage class', this.storageClass),
      field('Retention', this.retention),
      field('Retention age', this.retentionAge, 'Seconds, or e.g. 12h, 7d, 2w (used when retention is by age).'),
      field('Timestamping mode', this.mode),
      field('Uncapped timestamps', this.uncapped),
      field('Delete when empty after', this.deleteOnEmpty, 'Seconds or e.g. 1h; 0 disables; empty leaves it unset.'),
    );
  }

  /** The config to send; throws an Error with a readable message for a bad field. */
  value(form: 'create' | 'patch'): ConfigBody {
    const set = (value: unknown): unknown => (value === undefined && form === 'patch' ? null : value);
    const fields: ConfigBody = {};
    fields.storage_class = set(this.storageClass.value || undefined);
    fields.retention_policy = set(this.retentionValue());
    const mode = this.mode.value || undefined;
    const uncapped = this.uncapped.value === '' ? undefined : this.uncapped.value === 'true';
    fields.timestamping =
      mode === undefined && uncapped === undefined ? set(undefined) : { mode: set(mode), uncapped: set(uncapped) };
    const minAge = parseDurationSecs(this.deleteOnEmpty.value, 'Delete when empty after');
    fields.delete_on_empty = set(minAge === undefined ? undefined : { min_age_secs: minAge });
    for (const key of Object.keys(fields)) if (fields[key] === undefined) delete fields[key];
    return fields;
  }

  private retentionValue(): ConfigBody | undefined {
    if (this.retention.value === 'infinite') return { infinite: {} };
    if (this.retention.value !== 'age') return undefined;
    const age = parseDurationSecs(this.retentionAge.value, 'Retention age');
    if (age === undefined) throw new Error('Retention age: give an age, or choose another retention');
    return { age };
  }
}

export class BasinConfigFields {
  readonly element: HTMLElement;
  private readonly onAppend: HTMLInputElement;
  private readonly onRead: HTMLInputElement;
  private readonly cipher: HTMLSelectElement;
  private readonly defaults: StreamConfigFields;

  constructor(initial: Json | undefined) {
    const config = obj(initial);
    const onAppend = checkbox('Create streams on append', config.create_stream_on_append === true);
    const onRead = checkbox('Create streams on read', config.create_stream_on_read === true);
    this.onAppend = onAppend.input;
    this.onRead = onRead.input;
    this.cipher = select(
      [
        ['', 'none'],
        ['aegis-256', 'aegis-256'],
        ['aes-256-gcm', 'aes-256-gcm'],
      ],
      String(config.stream_cipher ?? ''),
    );
    this.defaults = new StreamConfigFields(
      'Default stream config',
      config.default_stream_config ?? undefined,
      'system default',
    );
    this.element = h(
      'div',
      { class: 'basin-config' },
      onAppend.row,
      onRead.row,
      field('Cipher for new streams', this.cipher, 'Streams with a cipher need an encryption key to append and read.'),
      this.defaults.element,
    );
  }

  value(form: 'create' | 'patch'): ConfigBody {
    const defaults = this.defaults.value(form);
    const anyDefault = Object.values(defaults).some((v) => v !== null);
    const fields: ConfigBody = {
      create_stream_on_append: this.onAppend.checked,
      create_stream_on_read: this.onRead.checked,
    };
    if (this.cipher.value || form === 'patch') fields.stream_cipher = this.cipher.value || null;
    if (anyDefault) fields.default_stream_config = defaults;
    else if (form === 'patch') fields.default_stream_config = null;
    return fields;
  }
}
