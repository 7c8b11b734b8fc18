/**
 * The web dashboard in a real browser (Playwright driving Debian's chromium, installed by
 * .ci/run) against a live devnet: the page loads, the block height advances, a transaction
 * submitted through the API shows up committed in the explorer, and an eavesdropper toggled
 * from the page raises an alarm on that link and clears when it stops. Devnet controls
 * refuse a wrong token. QLEDGER_SCREENSHOT=FILE keeps a picture of the network view.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nobleBackend, nobleHashes, toHex } from '@qledger/core';
import { QledgerClient } from '@qledger/core/api';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type DevnetProcess, registerTx, startDevnet } from '../src/validator/devnet-driver.js';

const CHROMIUM = process.env.QLEDGER_CHROMIUM ?? '/usr/bin/chromium';

describe('web dashboard (chromium)', { timeout: 300_000 }, () => {
  let dir: string;
  let net: DevnetProcess;
  let browser: Browser;
  let page: Page;
  let api: QledgerClient;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    dir = mkdtempSync(join(tmpdir(), 'qledger-web-'));
    net = await startDevnet(dir);
    api = new QledgerClient(net.ready.web);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  });
  after(async () => {
    await browser?.close();
    await net?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const height = async () => Number(await page.locator('#height').textContent());

  test('the network view loads, draws every link, and the height advances with new blocks', async () => {
    await page.goto(`${net.ready.web}/`);
    await page.locator('[data-link="a-b"]').waitFor({ timeout: 30_000 });
    for (const id of ['a-b', 'b-c', 'c-d', 'a-d'])
      assert.equal(await page.locator(`[data-link="${id}"]`).getAttribute('data-state'), 'ok', id);
    assert.equal(await page.locator('[data-validator]').count(), 4);
    // Every validator pair authenticates with QKD keys.
    await page.waitForFunction(
      () => document.querySelectorAll('[data-pair][data-state="qkd"]').length === 6,
      null,
      {
        timeout: 30_000,
      },
    );
    const h0 = await height();
    const { env } = registerTx('devnet', 'carol', nobleBackend, nobleHashes);
    await api.submitTx(env.bytes);
    await page.waitForFunction((h) => Number(document.querySelector('#height')?.textContent) > h, h0, {
      timeout: 30_000,
    });
    assert.ok((await height()) > h0);
    await page.locator('#live-blocks li').first().waitFor();
    // The leader order's epoch and source, from the validators' status.
    const beacon = (await page.locator('#beacon').textContent()) ?? '';
    const m = /^epoch (\d+) · (genesis|beacon|fallback)/.exec(beacon);
    assert.ok(m, beacon);
    const st = await api.status();
    assert.ok(Number(m[1]) <= st.beacon.epoch, `${beacon} vs epoch ${st.beacon.epoch}`);
    if (m[2] === 'genesis') assert.ok(Number(m[1]) < 2, beacon);
  });

  test('a transaction submitted through the API appears in the explorer, found by the search box', async () => {
    const { env } = registerTx('devnet', 'dave', nobleBackend, nobleHashes);
    const id = toHex(env.id);
    await api.submitTx(env.bytes);
    for (let i = 0; i < 200 && (await api.tx(id).catch(() => null))?.status !== 'committed'; i++)
      await new Promise((r) => setTimeout(r, 50));
    await page.fill('#search input', id);
    await page.press('#search input', 'Enter');
    await page.locator('#tx-status').waitFor();
    assert.equal(await page.locator('#tx-status').textContent(), 'committed');
    // Its block lists it, and the identity page shows the new identity with its trust score.
    await page.click('a[href^="#/block/"]');
    await page.locator(`a[href="#/tx/${id}"]`).waitFor();
    // The block page shows the header's epoch seed, as the API has it.
    const shown = Number(/#\/block\/(\d+)/.exec(page.url())![1]);
    const seed = (await api.block(String(shown))).beacon;
    const text = (await page.locator('#epoch-seed').textContent()) ?? '';
    assert.ok(seed ? text === seed : text.startsWith('none'), `${text} vs ${seed}`);
    await page.click('a[href="#/identity/dave"]');
    await page.locator('#trust').waitFor();
    assert.equal(await page.locator('#trust').textContent(), '50.0 / 100');
    await page.goto(`${net.ready.web}/#/explorer`);
    await page.locator('#block-list tbody tr').first().waitFor();
    assert.ok((await page.locator('#block-list tbody tr').count()) >= 3);
  });

  test('devnet controls: a wrong token is refused; an eavesdropper raises the alarm on that link, and stopping it clears it', async () => {
    await page.goto(`${net.ready.web}/#/network`);
    await page.locator('[data-eavesdrop="a-b"]').waitFor();
    await page.fill('#admin-token', 'not-the-token-at-all');
    await page.click('[data-eavesdrop="a-b"]');
    await page.waitForFunction(() =>
      document.querySelector('#control-message')?.textContent?.startsWith('UNAUTHORIZED'),
    );
    assert.equal(await page.locator('[data-link="a-b"]').getAttribute('data-state'), 'ok');

    // v1's live events carry the link alarm too.
    const linkEvents: { peer: string; state: string; alarm: boolean }[] = [];
    const ac = new AbortController();
    const v1 = new QledgerClient(net.ready.validators[0]!.api);
    const following = v1.events((name, e) => {
      if (name === 'link') linkEvents.push(e as (typeof linkEvents)[number]);
    }, ac.signal);
    await page.fill('#admin-token', readFileSync(net.ready.kme.tokenFile, 'utf8').trim());
    await page.click('[data-eavesdrop="a-b"]');
    await page.waitForFunction(
      () => document.querySelector('[data-link="a-b"]')?.getAttribute('data-state') === 'alarm',
      null,
      {
        timeout: 15_000,
      },
    );
    assert.match((await page.locator('[data-link="a-b"] .label').textContent()) ?? '', /alarm/);
    // The validators on that link see the alarm too (v1–v2 sit on sites a and b).
    await page.waitForFunction(
      () => document.querySelector('[data-pair="v1~v2"]')?.getAttribute('data-state') === 'fallback',
      null,
      {
        timeout: 20_000,
      },
    );
    for (let i = 0; i < 100 && !linkEvents.some((e) => e.peer === 'v2' && e.alarm); i++)
      await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await following;
    assert.ok(
      linkEvents.some((e) => e.peer === 'v2' && e.alarm && e.state === 'fallback'),
      JSON.stringify(linkEvents),
    );
    if (process.env.QLEDGER_SCREENSHOT)
      await page.screenshot({ path: process.env.QLEDGER_SCREENSHOT, fullPage: true });

    await page.click('[data-eavesdrop="a-b"]');
    await page.waitForFunction(
      () => document.querySelector('[data-link="a-b"]')?.getAttribute('data-state') === 'ok',
      null,
      {
        timeout: 15_000,
      },
    );
    await page.click('[data-cut="c-d"]');
    await page.waitForFunction(
      () => document.querySelector('[data-link="c-d"]')?.getAttribute('data-state') === 'cut',
      null,
      {
        timeout: 15_000,
      },
    );
    await page.click('[data-cut="c-d"]');
    await page.waitForFunction(
      () => document.querySelector('[data-link="c-d"]')?.getAttribute('data-state') === 'ok',
      null,
      {
        timeout: 15_000,
      },
    );
  });

  test('the devnet endpoints: forwarding names the validator; controls answer coded errors', async () => {
    const web = net.ready.web;
    const st = await fetch(`${web}/v1/status`);
    assert.equal(st.status, 200);
    assert.match(st.headers.get('x-qledger-validator') ?? '', /^v[1-4]$/);
    const token = readFileSync(net.ready.kme.tokenFile, 'utf8').trim();
    const post = (id: string, body: unknown, auth = token) =>
      fetch(`${web}/devnet/links/${id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
        body: JSON.stringify(body),
      });
    const expect = async (r: Response, status: number, code: string, field?: string) => {
      const b = (await r.json()) as { code: string; details?: { field?: string } };
      assert.equal(r.status, status, JSON.stringify(b));
      assert.equal(b.code, code);
      if (field) assert.equal(b.details?.field, field);
    };
    await expect(await post('a-b', { cut: true }, 'wrong'), 401, 'UNAUTHORIZED');
    await expect(await post('x-y', { cut: true }), 404, 'LINK_NOT_FOUND');
    await expect(await post('a-b', { eavesdrop: 2 }), 400, 'REQUEST_INVALID', 'eavesdrop');
    await expect(await post('a-b', { wiretap: 1 }), 400, 'REQUEST_INVALID', 'wiretap');
    await expect(await fetch(`${web}/devnet/nothing`), 404, 'NOT_FOUND');
    await expect(await fetch(`${web}/no-such-file.js`), 404, 'NOT_FOUND');
    // Nothing changed on the link.
    const n = (await (await fetch(`${web}/devnet/network`)).json()) as {
      links: { id: string; cut: boolean }[];
    };
    assert.equal(n.links.find((l) => l.id === 'a-b')?.cut, false);
  });
});
