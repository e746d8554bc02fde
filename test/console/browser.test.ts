/**
 * Proves the web console end to end in a real Chromium against the built server: a basin and a
 * stream created, reconfigured and deleted from the UI; records appended from the UI, the SDK and
 * another process, read back (text, JSON, hex, headers), paged, and followed live with pause and
 * resume losing nothing; fence and trim; the API's own error messages shown; a `<script>` body
 * shown as text with no script run; the live metrics chart; keyboard use and a narrow window;
 * and not one CSP violation along the way. One browser, one page, tests in order. (Access tokens:
 * token.test.ts.)
 */
import { spawn } from 'node:child_process';
import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { builtCli, launchChromium, screenshotPath, startBuiltServer, type BuiltServer } from './support.js';

let server: BuiltServer;
let browser: Browser;
let page: Page;
let s2: S2;
const problems: string[] = [];
const basin = 'console-ui-basin';

beforeAll(async () => {
  [server, browser] = await Promise.all([startBuiltServer(), launchChromium()]);
  s2 = new S2({
    accessToken: 'ignored',
    endpoints: { account: server.baseUrl, basin: server.baseUrl },
    retry: { maxAttempts: 1 },
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    // Chromium logs every 4xx the tests provoke on purpose; anything else (a CSP or Trusted Types
    // violation above all) is a problem.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${message.text()}`);
    }
  });
});

afterAll(async () => {
  await browser?.close();
  expect(await server?.stop()).toBe(0);
});

/** Waits (generously) until `locator`'s text contains `text`. */
async function waitText(locator: Locator, text: string | RegExp): Promise<void> {
  await expect.poll(async () => (await locator.allTextContents()).join('\n'), { timeout: 10_000 }).toMatch(text);
}

async function shoot(name: string, fullPage = true): Promise<void> {
  const file = screenshotPath(name);
  if (file) await page.screenshot({ path: file, fullPage });
}

const stream = () => s2.basin(basin).stream('orders');
const notice = (form: Locator) => form.locator('.notice');
const records = () => page.getByRole('list', { name: 'Records' });

describe('the web console in Chromium', { timeout: 120_000 }, () => {
  it('creates a basin with a default stream config, then a stream, from the UI', async () => {
    await page.goto(`${server.baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/console/');
    await page.getByLabel('Basin name').fill(basin);
    await page.getByLabel('Retention', { exact: true }).first().selectOption('age');
    await page.getByLabel('Retention age').first().fill('2d');
    await page.getByRole('button', { name: 'Create basin' }).click();
    await waitText(page.getByRole('status'), `Created basin ${basin}.`);
    await page.getByRole('link', { name: basin }).waitFor();
    const config = (await request(server.baseUrl, { path: `/v1/basins/${basin}` })).json();
    expect(config.default_stream_config.retention_policy).toEqual({ age: 172800 });
    await shoot('basins');

    await page.getByRole('link', { name: basin }).click();
    await page.getByRole('heading', { level: 1, name: basin }).waitFor();
    await page.getByLabel('Stream name').fill('orders');
    await page.getByLabel('Storage class').selectOption('standard');
    await page.getByRole('button', { name: 'Create stream' }).click();
    await page.getByRole('link', { name: 'orders' }).waitFor();
    const streamConfig = (
      await request(server.baseUrl, { path: '/v1/streams/orders', headers: { 's2-basin': basin } })
    ).json();
    expect(streamConfig.storage_class).toBe('standard');
    expect(streamConfig.retention_policy).toEqual({ age: 172800 });
    await waitText(page.getByRole('row', { name: /orders/ }), 'next seq_num 0');
  });

  it('appends from the UI and the SDK and shows headers, JSON, text and hex; a <script> body stays text', async () => {
    await page.getByRole('link', { name: 'orders' }).click();
    await page.getByRole('heading', { level: 1, name: 'orders' }).waitFor();
    const form = page.getByRole('form', { name: 'Append a record' });
    await form.getByLabel('Body').fill('{"hello":"console"}');
    await form.getByLabel('Headers').fill('type: greeting');
    await form.getByRole('button', { name: 'Append' }).click();
    await waitText(notice(form), 'Appended seq_num 0; the tail is now 1.');

    const script = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
    await stream().append(
      AppendInput.create([
        AppendRecord.string({ body: script }),
        AppendRecord.bytes({ body: Uint8Array.from([0x00, 0x01, 0x02, 0xff]) }),
      ]),
    );
    await page.getByRole('button', { name: 'Read', exact: true }).click();
    await waitText(page.locator('.records-section > p'), 'seq_num 0 to 2 (3 records)');
    const list = records();
    await waitText(list.locator('li').nth(0), '"hello": "console"');
    expect(await list.locator('li').nth(0).locator('dt').textContent()).toBe('type');
    expect(await list.locator('li').nth(0).locator('dd').textContent()).toBe('greeting');
    expect(await list.locator('li').nth(1).locator('pre').textContent()).toBe(script);
    await waitText(list.locator('li').nth(2).locator('pre'), /^00000000 {2}00 01 02 ff/);
    // The stored markup is text: nothing ran, nothing was parsed into elements.
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await list.locator('script, img').count()).toBe(0);
    await shoot('stream');

    await page.getByLabel('Show bodies as').selectOption('hex');
    await waitText(list.locator('li').nth(0).locator('pre'), /^00000000 {2}7b 22 68 65/);
    await page.getByLabel('Show bodies as').selectOption('auto');
  });

  it('pages through records, reads from a seq_num and a timestamp, and shows all of a long body', async () => {
    // Client timestamps never go below the stream's last one (api.md 7.3) and are capped at now:
    // start just after the tail's and wait until the last one is in the past.
    const base = (await stream().checkTail()).tail.timestamp.getTime() + 1;
    while (Date.now() <= base + 300) await new Promise((resolve) => setTimeout(resolve, 100));
    await stream().append(
      AppendInput.create(
        Array.from({ length: 25 }, (_, i) =>
          AppendRecord.string({ body: `r-${i}`, timestamp: new Date(base + i * 10) }),
        ),
      ),
    );
    await stream().append(AppendInput.create([AppendRecord.string({ body: 'L'.repeat(10_000) })]));
    const readForm = page.getByRole('form', { name: 'Read records' });
    await readForm.getByLabel('Start from').selectOption('seq_num');
    await readForm.getByLabel('Value').fill('3');
    await readForm.getByLabel('Page size').fill('10');
    await readForm.getByRole('button', { name: 'Read' }).click();
    const info = page.locator('.records-section > p');
    await waitText(info, 'seq_num 3 to 12 (10 records)');
    await page.getByRole('button', { name: 'Next page' }).click();
    await waitText(info, 'seq_num 13 to 22 (10 records)');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await waitText(info, 'seq_num 3 to 12 (10 records)');

    // From a timestamp: the first record at or after it (api.md 8.1).
    await readForm.getByLabel('Start from').selectOption('timestamp');
    await readForm.getByLabel('Value').fill(new Date(base + 5 * 10).toISOString());
    await readForm.getByRole('button', { name: 'Read' }).click();
    await waitText(records().locator('li').first(), 'r-5');

    await readForm.getByLabel('Start from').selectOption('back');
    await readForm.getByLabel('Value').fill('1');
    await readForm.getByRole('button', { name: 'Read' }).click();
    const long = records().locator('li').first();
    await waitText(long, 'seq_num 28');
    expect((await long.locator('pre').textContent())!.length).toBe(4096);
    await long.getByRole('button', { name: /Show all/ }).click();
    await expect.poll(async () => (await long.locator('pre').textContent())!.length).toBe(10_000);

    // Past the tail is not an error but says where the tail is.
    await readForm.getByLabel('Start from').selectOption('seq_num');
    await readForm.getByLabel('Value').fill('1000');
    await readForm.getByRole('button', { name: 'Read' }).click();
    await waitText(info, 'No records from there: the tail is at seq_num 29.');
  });

  it('follows the tail while another process appends; pause and resume lose nothing', async () => {
    await page.getByRole('button', { name: 'Follow live' }).click();
    await waitText(page.locator('.follow-status'), 'Following from the tail');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [builtCli, 'append', `s2://${basin}/orders`], {
        env: {
          ...process.env,
          S2_ACCOUNT_ENDPOINT: server.baseUrl,
          S2_BASIN_ENDPOINT: server.baseUrl,
          S2_ACCESS_TOKEN: 'ignored',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (chunk) => (output += chunk));
      child.stderr!.on('data', (chunk) => (output += chunk));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`append exited with ${code}: ${output}`))));
      child.stdin!.end('live-one\nlive-two\n');
    });
    await waitText(records(), /live-one[\s\S]*live-two/);
    await waitText(page.locator('.rates'), /^\d+\.\d records\/s · .+\/s · 2 records \(\d+ B\) received$/);
    await shoot('follow');

    await page.getByRole('button', { name: 'Pause' }).click();
    await waitText(page.locator('.follow-status'), 'Paused before seq_num 31');
    await stream().append(AppendInput.create([AppendRecord.string({ body: 'while-paused' })]));
    await page.getByRole('button', { name: 'Resume' }).click();
    await waitText(records(), 'while-paused');
    await waitText(records().locator('li').last(), 'seq_num 31');
    await waitText(page.locator('.rates'), '3 records');
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('button', { name: 'Follow live' }).waitFor();
  });

  it('fences and trims; failed conditions show what the API answered (412)', async () => {
    const commands = page.getByRole('region', { name: 'Commands' });
    const fence = commands.getByRole('form', { name: 'Fence' });
    await fence.getByLabel('New fencing token').fill('writer-1');
    await fence.getByRole('button', { name: 'Fence' }).click();
    await waitText(notice(fence), 'Appended seq_num 32; the tail is now 33.');

    const form = page.getByRole('form', { name: 'Append a record' });
    await form.getByLabel('Body').fill('from an old writer');
    await form.getByLabel('Fencing token (optional)').fill('writer-0');
    await form.getByRole('button', { name: 'Append' }).click();
    await waitText(notice(form), `Condition failed: wrong fencing token; the stream's current token is "writer-1".`);
    await form.getByLabel('Fencing token (optional)').fill('');
    await form.getByLabel('match_seq_num (optional)').fill('5');
    await form.getByRole('button', { name: 'Append' }).click();
    await waitText(notice(form), `Condition failed: match_seq_num does not match; the stream's next seq_num is 33.`);
    await form.getByLabel('match_seq_num (optional)').fill('');

    const trim = commands.getByRole('form', { name: 'Trim' });
    await trim.getByLabel('Trim point (first seq_num to keep)').fill('2');
    await trim.getByLabel('Fencing token (optional)').fill('writer-1');
    await trim.getByRole('button', { name: 'Trim' }).click();
    await waitText(notice(trim), 'Appended seq_num 33; the tail is now 34.');
    // Trimming is asynchronous (api.md 6.3): wait until a read from 0 starts at 2.
    await expect
      .poll(
        async () =>
          (await stream().read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 1 } } })).records[0]?.seqNum,
        {
          timeout: 15_000,
        },
      )
      .toBe(2);
    const readForm = page.getByRole('form', { name: 'Read records' });
    await readForm.getByLabel('Start from').selectOption('seq_num');
    await readForm.getByLabel('Value').fill('0');
    await readForm.getByLabel('Page size').fill('40');
    await readForm.getByRole('button', { name: 'Read' }).click();
    await waitText(page.locator('.records-section > p'), 'seq_num 2 to 33 (32 records)');
    await waitText(records().locator('li.command').first(), 'Command record · fence: fencing token set to "writer-1"');
    await waitText(
      records().locator('li.command').last(),
      'Command record · trim: records before seq_num 2 are trimmed',
    );
  });

  it('shows the API’s own error messages: bad name, duplicate, missing stream, bad input', async () => {
    await page.getByRole('link', { name: 'Basins', exact: true }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Basins' }).waitFor();
    const create = page.getByRole('form', { name: 'Create a basin' });
    for (const name of ['Bad_Name', basin]) {
      const direct = await request(server.baseUrl, {
        method: 'POST',
        path: '/v1/basins',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ basin: name, config: { create_stream_on_append: false, create_stream_on_read: false } }),
      });
      expect(direct.status).toBeGreaterThanOrEqual(400);
      await create.getByLabel('Basin name').fill(name);
      await create.getByRole('button', { name: 'Create basin' }).click();
      await waitText(create.getByRole('alert'), `${direct.json().code}: ${direct.json().message}`);
    }

    await page.goto(`${server.baseUrl}/console/basins/${basin}/streams/missing`);
    await waitText(
      page.locator('.tail-line'),
      `Tail unavailable: stream_not_found: stream \`missing\` in basin \`${basin}\` not found`,
    );
    await waitText(page.getByRole('alert'), `stream_not_found: stream \`missing\` in basin \`${basin}\` not found`);
    const readForm = page.getByRole('form', { name: 'Read records' });
    await readForm.getByLabel('Start from').selectOption('seq_num');
    await readForm.getByLabel('Value').fill('abc');
    await readForm.getByRole('button', { name: 'Read' }).click();
    await waitText(page.getByRole('alert'), 'seq_num must be a whole number');
    await page.goto(`${server.baseUrl}/console/basins/no-such-basin`);
    await waitText(page.getByRole('alert'), 'basin_not_found: basin `no-such-basin` not found');
    await page.goto(`${server.baseUrl}/console/no/such/page`);
    await page.getByRole('heading', { level: 1, name: 'No such page' }).waitFor();
  });

  it('reconfigures and deletes a stream and a basin', async () => {
    await page.goto(`${server.baseUrl}/console/basins/${basin}`);
    await page.getByRole('button', { name: 'Configure orders' }).click();
    const editor = page.locator('.editor-slot');
    await editor.getByLabel('Retention', { exact: true }).selectOption('infinite');
    await editor.getByRole('button', { name: 'Save configuration' }).click();
    await waitText(editor.getByRole('status'), 'Saved the configuration of orders.');
    // Saving reloads the list; its rows are redrawn once this says so again.
    await waitText(page.locator('.list-status'), /^Showing streams/);
    const config = (
      await request(server.baseUrl, { path: '/v1/streams/orders', headers: { 's2-basin': basin } })
    ).json();
    expect(config.retention_policy).toEqual({ infinite: {} });
    expect(config.storage_class).toBe('standard');
    await shoot('streams');

    const row = page.getByRole('row', { name: /orders/ });
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Delete orders' }).click();
    await expect
      .poll(
        async () =>
          (await request(server.baseUrl, { path: '/v1/streams/orders', headers: { 's2-basin': basin } })).status,
      )
      .not.toBe(200);

    await page.getByRole('link', { name: 'Basins', exact: true }).first().click();
    await page.getByRole('button', { name: `Configure ${basin}` }).click();
    await page.locator('.editor-slot').getByLabel('Create streams on read').check();
    await page.locator('.editor-slot').getByRole('button', { name: 'Save configuration' }).click();
    await waitText(page.locator('.editor-slot').getByRole('status'), `Saved the configuration of ${basin}.`);
    await waitText(page.locator('.list-status'), /^Showing basins/);
    const basinConfig = (await request(server.baseUrl, { path: `/v1/basins/${basin}` })).json();
    expect(basinConfig.create_stream_on_read).toBe(true);
    expect(basinConfig.default_stream_config.retention_policy).toEqual({ age: 172800 });

    const basinRow = page.getByRole('row', { name: new RegExp(basin) });
    await basinRow.getByRole('button', { name: 'Delete' }).click();
    await basinRow.getByRole('button', { name: `Delete ${basin}` }).click();
    await expect
      .poll(async () => {
        const res = await request(server.baseUrl, { path: '/v1/basins' });
        const found = res.json().basins.find((b: { name: string }) => b.name === basin);
        return found ? found.deleted_at : 'gone';
      })
      .not.toBeNull();
  });

  it('pages basins by prefix', async () => {
    for (let i = 0; i < 22; i++) await s2.basins.create({ basin: `page-basin-${String(i).padStart(2, '0')}` });
    await s2.basins.create({ basin: 'other-basin-1' });
    await page.goto(`${server.baseUrl}/console/`);
    await page.getByLabel('Filter basins by prefix').fill('page-basin');
    await page.getByRole('button', { name: 'Filter' }).click();
    const status = page.locator('.list-status');
    await waitText(status, 'Showing basins 1–20 (more on the next page).');
    expect(await page.getByRole('link', { name: /^page-basin-/ }).count()).toBe(20);
    await page.getByRole('button', { name: 'Next page' }).click();
    await waitText(status, 'Showing basins 21–22.');
    await page.getByRole('link', { name: 'page-basin-21' }).waitFor();
    expect(await page.getByRole('link', { name: 'other-basin-1' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await waitText(status, 'Showing basins 1–20');
  });

  it('draws live append and read rates and ack latency from /metrics', async () => {
    await s2.basins.create({ basin: 'metrics-basin-1', config: { createStreamOnAppend: true } });
    const target = s2.basin('metrics-basin-1').stream('load');
    let appending = true;
    const load = (async () => {
      while (appending) {
        await target.append(AppendInput.create([AppendRecord.string({ body: 'tick' })]));
        await target.read({ start: { from: { tailOffset: 1 } } });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await page.getByRole('link', { name: 'Server metrics' }).click();
      await page.getByRole('heading', { level: 1, name: 'Server metrics' }).waitFor();
      const legend = (chart: string, series: string) =>
        page
          .getByRole('figure', { name: chart })
          .getByRole('listitem')
          .filter({ hasText: `${series}:` })
          .locator('strong');
      await expect
        .poll(() => legend('Records per second', 'appended').textContent(), { timeout: 15_000 })
        .toMatch(/^[1-9]/);
      await expect
        .poll(() => legend('Records per second', 'read').textContent(), { timeout: 15_000 })
        .toMatch(/^[1-9]/);
      await expect
        .poll(() => legend('Append ack latency (ms)', 'mean').textContent(), { timeout: 15_000 })
        .toMatch(/ms$/);
      await expect.poll(() => page.locator('figure polyline').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
      // For the guide's picture only: let the chart fill up a little.
      if (screenshotPath('metrics')) await page.waitForTimeout(20_000);
      await shoot('metrics', false);
    } finally {
      appending = false;
      await load;
    }
  });

  it('is usable by keyboard: skip link, create with Enter, delete with a confirmed second Enter', async () => {
    await page.goto(`${server.baseUrl}/console/`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.getByLabel('Basin name').focus();
    await page.keyboard.type('keyboard-basin');
    await page.keyboard.press('Enter');
    // The list reloads after the create; wait for that reload, so it cannot redraw the rows (and
    // drop the focus) in the middle of the delete below.
    await waitText(
      page.getByRole('form', { name: 'Create a basin' }).getByRole('status'),
      'Created basin keyboard-basin.',
    );
    await waitText(page.locator('.list-status'), /^Showing basins/);
    await page.getByRole('link', { name: 'keyboard-basin' }).waitFor();
    await page
      .getByRole('row', { name: /keyboard-basin/ })
      .getByRole('button', { name: 'Delete' })
      .focus();
    await page.keyboard.press('Enter');
    // The confirming button takes the focus, so a second Enter confirms.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Delete keyboard-basin');
    await page.keyboard.press('Enter');
    await expect
      .poll(async () => (await request(server.baseUrl, { path: '/v1/basins/keyboard-basin' })).status)
      .not.toBe(200);
  });

  it('fits a narrow window without sideways scrolling', async () => {
    await s2.basins.create({ basin: 'narrow-basin-1', config: { createStreamOnAppend: true } });
    await s2
      .basin('narrow-basin-1')
      .stream('a/long/stream/name')
      .append(
        AppendInput.create([
          AppendRecord.string({ body: JSON.stringify({ narrow: true, text: 'x'.repeat(300) }), headers: [['k', 'v']] }),
        ]),
      );
    await page.setViewportSize({ width: 360, height: 740 });
    for (const p of [
      '/console/',
      '/console/basins/narrow-basin-1',
      `/console/basins/narrow-basin-1/streams/${encodeURIComponent('a/long/stream/name')}`,
    ]) {
      await page.goto(`${server.baseUrl}${p}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      expect(overflow, p).toBeLessThanOrEqual(0);
    }
    await waitText(records(), '"narrow": true');
    await shoot('narrow', false);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('ran without page errors, dialogs or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
