// PullImage in the browser, end to end: the store worker pulls from the test bed's real
// registries into OPFS in headless Chromium; ListImages, ImageStatus, RemoveImage, dedup of
// shared blobs, a corrupted blob, a cut connection, a small quota and export, each checked
// against the fixture digests (and skopeo for the exported tar).
//
//   IMAGESCOPE_DIST=… IMAGESCOPE_TESTBED_DIR=… node --test tests/e2e/pull.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect, inspectUrl, launch, openLink, openPage, screenshot, startTestbed, texts } from './harness.mjs';
import { startFaultProxy } from './faultproxy.mjs';
import { pushImage, randomLayer } from './push.mjs';

let state;
let browser;
let proxy;
/** Images the test pushes: one sharing multi's amd64 layer, one with a 4 MiB layer. */
let shared;
let big;
/** Two tags of one repository sharing a layer, and a tag the referrers fallback schema names. */
let tagged;
const REFERRERS_TAG = `sha256-${'ab'.repeat(32)}`;
/** An image whose one layer is past the 32 MiB at which a download saves its hasher state. */
let resumable;
const MiB = 1024 * 1024;
const CHECKPOINT = 32 * MiB;
const RESUMABLE_LAYER = 48 * MiB;

const BIG_LAYER = 4 * 1024 * 1024;

before(async () => {
  state = startTestbed();
  browser = await launch();
  proxy = await startFaultProxy(state.registries.anon.cors);
  const direct = state.registries.anon.direct;
  const amd64 = state.fixtures['public/multi:v1'].platforms.find((p) => p.platform === 'linux/amd64');
  // Repositories of their own, so the fixtures' tag lists stay as the other tests expect them.
  shared = await pushImage(direct, 'pulltest/shared', '1.0', [{ ...amd64.layers[0], from: 'public/multi' }, randomLayer(300)], 'pull.test shared');
  big = await pushImage(direct, 'pulltest/big', '1.0', [randomLayer(BIG_LAYER)], 'pull.test big');
  resumable = await pushImage(direct, 'pulltest/resumable', '1.0', [randomLayer(RESUMABLE_LAYER)], 'pull.test resumable');
  const common = randomLayer(700);
  tagged = [
    await pushImage(direct, 'pulltest/tags', '1.0', [common], 'pull.test tags 1.0'),
    await pushImage(direct, 'pulltest/tags', '2.0', [common, randomLayer(900)], 'pull.test tags 2.0'),
  ];
  await pushImage(direct, 'pulltest/tags', REFERRERS_TAG, [randomLayer(10)], 'pull.test referrers index');
});

after(async () => {
  await browser?.close();
  await proxy?.close();
});

const PULL_TIMEOUT = 30000;

/** Presses Pull on the image shown and waits until the pull has ended one way or another. */
async function pull(page) {
  const shown = await page.$('[data-testid="pull-progress"]');
  const previous = shown && await shown.getAttribute('data-pull-id');
  await page.click('[data-testid="pull-button"]');
  const selector = `[data-testid="pull-progress"]:not([data-state="running"])${previous ? `:not([data-pull-id="${previous}"])` : ''}`;
  await page.waitForSelector(selector, { timeout: PULL_TIMEOUT });
  return page.$eval('[data-testid="pull-progress"]', (e) => ({ ...e.dataset }));
}

async function pullImage(page, reference) {
  await openLink(page, inspectUrl(state, reference));
  return pull(page);
}

async function rows(page) {
  return page.$$eval('[data-testid="stored-image-row"]', (els) => els.map((e) => ({ id: e.dataset.id, size: Number(e.dataset.bytes) })));
}

async function logLines(page) {
  return texts(page, '[data-testid="activity-log"] li.log-line');
}

/** Names under `imagescope/<dir>` in the page's OPFS. */
async function opfsNames(page, dir) {
  return page.evaluate(async (parts) => {
    let handle = await navigator.storage.getDirectory();
    try {
      for (const p of parts) handle = await handle.getDirectoryHandle(p);
    } catch {
      return [];
    }
    const names = [];
    for await (const name of handle.keys()) names.push(name);
    return names.sort();
  }, ['imagescope', ...dir.split('/')]);
}

const hex = (digest) => digest.replace(/^sha256:/, '');

/** Polls `check` until it returns something truthy; fails naming `what` after `timeout` ms. */
async function waitUntil(check, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const blobGets = (digest) => proxy.log.filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${digest}`));

/** The offset a Range request resumed from, or NaN. */
const rangeStart = (range) => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1]);

async function openStore(page) {
  if (await page.getAttribute('[data-testid="store-panel"]', 'data-open') !== 'true') {
    await page.click('[data-testid="store-toggle"]');
  }
  await page.waitForSelector('[data-testid="stored-images"], [data-testid="store-empty"]');
}

describe('pulling into the browser', () => {
  test('public/hello: pull, list, ImageStatus, remove', async () => {
    const { context, page, consoleErrors, requests } = await openPage(browser);
    try {
      const host = state.registries.anon.cors;
      const hello = state.fixtures['public/hello:1.0'];
      await openLink(page, inspectUrl(state, `${host}/public/hello:1.0`));
      assert.deepEqual(requests.filter((r) => r.url.includes('/worker/')), [], 'the store worker loads only when needed');
      const done = await pull(page);
      assert.ok(requests.some((r) => r.url.endsWith('/worker/imagescope-worker_bg.wasm')));
      assert.equal(done.state, 'done', await page.textContent('[data-testid="pull-progress"]'));
      assert.equal(Number(done.totalBytes), hello.layers_size);
      assert.equal(Number(done.doneBytes), hello.layers_size);
      await page.waitForSelector(`[data-testid="stored-image-row"][data-id="${hello.config_digest}"]`);
      assert.deepEqual(await rows(page), [{ id: hello.config_digest, size: hello.content_size }]);

      const log = await logLines(page);
      for (const layer of hello.layers) {
        assert.ok(log.includes(`${hex(layer.digest).slice(0, 12)}: Pull complete`), log.join('\n'));
      }
      assert.ok(log.includes(`Digest: ${hello.manifest_digest}`), log.join('\n'));
      assert.ok(log.includes(`Status: Downloaded newer image for ${host}/public/hello:1.0`), log.join('\n'));

      const blobs = await opfsNames(page, 'blobs/sha256');
      for (const d of [hello.manifest_digest, hello.config_digest, ...hello.layers.map((l) => l.digest)]) {
        assert.ok(blobs.includes(hex(d)), `${d} stored`);
      }
      assert.deepEqual(await opfsNames(page, 'ingest'), []);
      const estimate = await page.waitForSelector('[data-testid="storage-estimate"]');
      assert.ok(Number(await estimate.getAttribute('data-usage')) > 0);
      assert.ok(Number(await estimate.getAttribute('data-quota')) > 0);

      await screenshot(page, 'pull-store-light-desktop');

      await page.fill('[data-testid="status-input"]', `${host}/public/hello:1.0`);
      await page.click('[data-testid="status-button"]');
      const status = await page.waitForSelector('[data-testid="store-status"][data-present="true"]');
      assert.equal(await status.getAttribute('data-id'), hello.config_digest);
      assert.equal(Number(await status.getAttribute('data-bytes')), hello.content_size);

      await page.fill('[data-testid="status-input"]', `${host}/public/absent:1.0`);
      await page.click('[data-testid="status-button"]');
      const absent = await page.waitForSelector('[data-testid="store-status"][data-present="false"]');
      assert.match(await absent.textContent(), /not present/);

      await page.click(`[data-testid="stored-image-row"][data-id="${hello.config_digest}"] [data-testid="remove-button"]`);
      await page.waitForSelector('[data-testid="store-empty"]');
      assert.deepEqual(await opfsNames(page, 'blobs/sha256'), []);
      assert.deepEqual(consoleErrors, []);
    } finally {
      await context.close();
    }
  });

  test('a blob two images share is not fetched again ("Already exists")', async () => {
    const { context, page } = await openPage(browser);
    try {
      const host = state.registries.anon.cors;
      const multi = state.fixtures['public/multi:v1'];
      const amd64 = multi.platforms.find((p) => p.platform === 'linux/amd64');
      assert.equal((await pullImage(page, `${host}/public/multi:v1`)).state, 'done');
      await inspect(page, `${host}/pulltest/shared:1.0`);
      const second = await pull(page);
      assert.equal(second.state, 'done');
      assert.equal(Number(second.totalBytes), shared.layers[1].size, 'only the new layer is downloaded');
      const log = await logLines(page);
      const sharedLine = `${hex(amd64.layers[0].digest).slice(0, 12)}: Already exists`;
      assert.ok(log.includes(sharedLine), log.join('\n'));
      assert.ok(log.includes(`${hex(shared.layers[1].digest).slice(0, 12)}: Pull complete`), log.join('\n'));
      await page.waitForSelector(`[data-testid="stored-image-row"][data-id="${shared.config_digest}"]`);
      const ids = (await rows(page)).map((r) => r.id).sort();
      assert.deepEqual(ids, [amd64.config_digest, shared.config_digest].sort());

      await page.click(`[data-testid="stored-image-row"][data-id="${amd64.config_digest}"] [data-testid="remove-button"]`);
      await page.waitForSelector(`[data-testid="stored-image-row"][data-id="${amd64.config_digest}"]`, { state: 'detached' });
      const blobs = await opfsNames(page, 'blobs/sha256');
      assert.ok(blobs.includes(hex(amd64.layers[0].digest)), 'the shared layer stays for the other image');
      assert.ok(!blobs.includes(hex(amd64.config_digest)), 'the removed image\'s own config is deleted');
      await page.click(`[data-testid="stored-image-row"][data-id="${shared.config_digest}"] [data-testid="remove-button"]`);
      await page.waitForSelector('[data-testid="store-empty"]');
      assert.deepEqual(await opfsNames(page, 'blobs/sha256'), []);
    } finally {
      await context.close();
    }
  });

  test('every platform of an index, each layer checked against its diff_id', async () => {
    const { context, page } = await openPage(browser);
    try {
      const host = state.registries.anon.cors;
      const multi = state.fixtures['public/multi:v1'];
      await openLink(page, inspectUrl(state, `${host}/public/multi:v1`));
      await page.check('[data-testid="pull-all-platforms"]');
      await page.check('[data-testid="pull-verify-diff-ids"]');
      const done = await pull(page);
      assert.equal(done.state, 'done', await page.textContent('[data-testid="pull-progress"]'));
      // Every entry of the index is pulled, the buildx attestation manifest's layer included.
      const layers = multi.platforms.flatMap((p) => p.layers);
      assert.ok(Number(done.totalBytes) > layers.reduce((n, l) => n + l.size, 0));
      assert.equal(done.doneBytes, done.totalBytes);
      const blobs = await opfsNames(page, 'blobs/sha256');
      for (const a of multi.attestations) assert.ok(blobs.includes(hex(a.layer_digest)), `attestation ${a.layer_digest}`);
      for (const p of multi.platforms) {
        for (const d of [p.manifest_digest, p.config_digest, ...p.layers.map((l) => l.digest)]) assert.ok(blobs.includes(hex(d)), `${p.platform} ${d}`);
      }
      assert.ok(blobs.includes(hex(multi.manifest_digest)), 'the index itself');
      const amd64 = multi.platforms.find((p) => p.platform === 'linux/amd64');
      await page.waitForSelector(`[data-testid="stored-image-row"][data-id="${amd64.config_digest}"]`);
    } finally {
      await context.close();
    }
  });

  test('a corrupted layer is rejected and nothing of it is stored', async () => {
    const { context, page } = await openPage(browser);
    try {
      proxy.clear();
      const hello = state.fixtures['public/hello:1.0'];
      const bad = hello.layers[1].digest;
      proxy.corrupt(bad);
      const done = await pullImage(page, `${proxy.host}/public/hello:1.0`);
      assert.equal(done.state, 'failed');
      assert.equal(await page.getAttribute('[data-testid="pull-error"]', 'data-kind'), 'blob');
      assert.match(await page.textContent('[data-testid="pull-error"]'), new RegExp(`${bad}.*nothing of it was stored`));
      assert.ok(!(await opfsNames(page, 'blobs/sha256')).includes(hex(bad)));
      // The other layer may have been cut short by the failure; it stays for a resume.
      assert.deepEqual((await opfsNames(page, 'ingest')).filter((n) => n.startsWith(hex(bad))), []);
      await openStore(page);
      assert.deepEqual(await rows(page), []);
    } finally {
      proxy.clear();
      await context.close();
    }
  });

  test('a connection cut mid-layer resumes with Range and verifies', async () => {
    const { context, page } = await openPage(browser);
    try {
      proxy.clear();
      const layer = big.layers[0].digest;
      const cutAt = 1024 * 1024;
      proxy.cutOnce(layer, cutAt);
      const done = await pullImage(page, `${proxy.host}/pulltest/big:1.0`);
      assert.equal(done.state, 'done', await page.textContent('[data-testid="pull-progress"]'));
      assert.equal(Number(done.doneBytes), BIG_LAYER);
      const gets = blobGets(layer);
      assert.equal(gets.length, 2, JSON.stringify(gets));
      assert.equal(gets[0].range, null);
      const resumedAt = rangeStart(gets[1].range);
      assert.ok(resumedAt > 0 && resumedAt <= cutAt, `resumed with ${gets[1].range}`);
      await page.waitForSelector(`[data-testid="stored-image-row"][data-id="${big.config_digest}"]`);
      await page.click('[data-testid="fsck-button"]');
      const fsck = await page.waitForSelector('[data-testid="fsck-result"]');
      assert.equal(await fsck.getAttribute('data-corrupt'), '0');
      assert.equal(await fsck.getAttribute('data-missing'), '0');
      assert.equal(await fsck.getAttribute('data-checked'), '3');

      // Damage the stored config behind the store's back: the self-check names it.
      await page.evaluate(async (name) => {
        const root = await navigator.storage.getDirectory();
        const dir = await (await (await root.getDirectoryHandle('imagescope')).getDirectoryHandle('blobs')).getDirectoryHandle('sha256');
        const writable = await (await dir.getFileHandle(name)).createWritable({ keepExistingData: true });
        await writable.write({ type: 'write', position: 0, data: 'X' });
        await writable.close();
      }, hex(big.config_digest));
      await page.click('[data-testid="fsck-button"]');
      await page.waitForSelector('[data-testid="fsck-result"][data-corrupt="1"]');
      assert.deepEqual(await texts(page, '[data-testid="fsck-corrupt"] code:first-child'), [big.config_digest]);
    } finally {
      proxy.clear();
      await context.close();
    }
  });

  test('a registry that answers a Range request with the whole blob gets the blob again from the start', async () => {
    const { context, page } = await openPage(browser);
    try {
      proxy.clear();
      const layer = big.layers[0].digest;
      proxy.cutOnce(layer, MiB);
      proxy.ignoreRange(layer);
      const done = await pullImage(page, `${proxy.host}/pulltest/big:1.0`);
      assert.equal(done.state, 'done', await page.textContent('[data-testid="pull-progress"]'));
      const gets = blobGets(layer);
      assert.equal(gets.length, 2, JSON.stringify(gets));
      assert.ok(rangeStart(gets[1].range) > 0, `asked to resume: ${gets[1].range}`);
      assert.equal(gets[1].status, 200, 'and was sent the whole blob');
      const short = hex(layer).slice(0, 12);
      assert.ok((await logLines(page)).includes(`${short}: starting over from byte 0: the registry answered the Range request with the whole blob`), 'the log says why');
      assert.equal(Number(done.doneBytes), BIG_LAYER, 'the bytes kept from the cut attempt are not counted twice');
      await page.waitForSelector(`[data-testid="stored-image-row"][data-id="${big.config_digest}"]`);
      await page.click('[data-testid="fsck-button"]');
      await page.waitForSelector('[data-testid="fsck-result"][data-corrupt="0"][data-missing="0"]');
    } finally {
      proxy.clear();
      await context.close();
    }
  });

  test('Cancel stops a stalled download at once, and the next pull resumes where it stopped', async () => {
    const { context, page } = await openPage(browser);
    try {
      proxy.clear();
      const layer = big.layers[0].digest;
      const holdAt = 2 * MiB;
      // The registry sends half the layer, then nothing: only the Cancel button can end this.
      proxy.holdAfter(layer, holdAt);
      await openLink(page, inspectUrl(state, `${proxy.host}/pulltest/big:1.0`));
      await page.click('[data-testid="pull-button"]');
      // Once the bytes stop, the progress the throttle held back still arrives: the count comes
      // to rest at what the worker has verified (the fetch path hands over at least 256 KiB at a
      // time, so up to that much of the stalled tail may still be in flight).
      const shownBytes = () => page.getAttribute(`[data-testid="pull-layer"][data-digest="${layer}"]`, 'data-done-bytes').then(Number).catch(() => 0);
      let previous = -1;
      let since = Date.now();
      const shown = await waitUntil(async () => {
        const now = await shownBytes();
        if (now !== previous) [previous, since] = [now, Date.now()];
        return now > holdAt - MiB && Date.now() - since >= 500 && now;
      }, 'the progress comes to rest near the stall', PULL_TIMEOUT);
      assert.ok(shown <= holdAt, `${shown} bytes shown of the ${holdAt} sent`);
      await page.click('[data-testid="pull-cancel"]');
      await page.waitForSelector('[data-testid="pull-progress"][data-state="cancelled"]', { timeout: 5000 });
      assert.equal(await page.getAttribute('[data-testid="pull-error"]', 'data-kind'), 'cancelled');
      await waitUntil(() => blobGets(layer)[0]?.closedEarly, 'the browser hangs up on the stalled response');
      const ingest = await opfsNames(page, 'ingest');
      assert.ok(ingest.includes(hex(layer)) && ingest.includes(`${hex(layer)}.state`), `kept for the next pull: ${ingest}`);
      await openStore(page);
      assert.deepEqual(await rows(page), [], 'a cancelled pull stores no image');

      proxy.clear();
      const done = await pull(page);
      assert.equal(done.state, 'done', await page.textContent('[data-testid="pull-progress"]'));
      const gets = blobGets(layer);
      assert.equal(gets.length, 1, JSON.stringify(gets));
      assert.equal(gets[0].range, `bytes=${shown}-`, 'a cancel keeps every byte it verified');
      assert.ok((await logLines(page)).includes(`${hex(layer).slice(0, 12)}: resuming at byte ${shown} of ${BIG_LAYER}`));
      await page.waitForSelector(`[data-testid="stored-image-row"][data-id="${big.config_digest}"]`);
      assert.deepEqual((await opfsNames(page, 'ingest')).filter((n) => n.startsWith(hex(layer))), []);
    } finally {
      proxy.clear();
      await context.close();
    }
  });

  test('a pull cut by a closed tab resumes in a new tab from its last checkpoint', async () => {
    const { context, page } = await openPage(browser);
    try {
      proxy.clear();
      const layer = resumable.layers[0].digest;
      const holdAt = 40 * MiB;
      proxy.holdAfter(layer, holdAt);
      await openLink(page, inspectUrl(state, `${proxy.host}/pulltest/resumable:1.0`));
      await page.click('[data-testid="pull-button"]');
      await waitUntil(async () => (await opfsNames(page, 'ingest')).includes(`${hex(layer)}.state`), 'the download saves a checkpoint', PULL_TIMEOUT);
      await page.close();

      proxy.clear();
      const again = await context.newPage();
      const done = await pullImage(again, `${proxy.host}/pulltest/resumable:1.0`);
      assert.equal(done.state, 'done', await again.textContent('[data-testid="pull-progress"]'));
      const gets = blobGets(layer);
      assert.equal(gets.length, 1, JSON.stringify(gets));
      const resumedAt = rangeStart(gets[0].range);
      assert.ok(resumedAt >= CHECKPOINT && resumedAt <= holdAt, `resumed with ${gets[0].range}`);
      await again.waitForSelector(`[data-testid="stored-image-row"][data-id="${resumable.config_digest}"][data-bytes="${resumable.content_size}"]`);
    } finally {
      proxy.clear();
      await context.close();
    }
  });

  test('a small quota stops the pull with a clear error and no partial blob', async () => {
    const { context, page } = await openPage(browser);
    try {
      const host = state.registries.anon.cors;
      await page.goto(state.app_origin + '/');
      const cdp = await context.newCDPSession(page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: state.app_origin, quotaSize: 1024 * 1024 });
      await inspect(page, `${host}/pulltest/big:1.0`);
      const done = await pull(page);
      assert.equal(done.state, 'failed');
      assert.equal(await page.getAttribute('[data-testid="pull-error"]', 'data-kind'), 'quota', await page.textContent('[data-testid="pull-error"]'));
      assert.match(await page.textContent('[data-testid="pull-error"]'), /quota exceeded/);
      assert.deepEqual(await opfsNames(page, 'ingest'), []);
      assert.ok(!(await opfsNames(page, 'blobs/sha256')).includes(hex(big.layers[0].digest)));
      await openStore(page);
      assert.deepEqual(await rows(page), []);
    } finally {
      await context.close();
    }
  });

  test('all tags: the plan shows each tag and the total first, then every tag is stored', async () => {
    const { context, page } = await openPage(browser);
    try {
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/pulltest/tags:1.0`));
      await page.click('[data-testid="pull-all-tags"]');
      await page.waitForSelector('[data-testid="tag-plan"][data-state="ready"]');
      const planned = await page.$$eval('[data-testid="planned-tag"]', (els) => els.map((e) => e.dataset.tag));
      assert.deepEqual(planned, ['1.0', '2.0']);
      assert.deepEqual(await page.$$eval('[data-testid="skipped-tag"]', (els) => els.map((e) => e.dataset.tag)), [REFERRERS_TAG]);
      const total = Number(await page.getAttribute('[data-testid="tag-plan"]', 'data-total-bytes'));
      assert.equal(total, tagged[0].content_size + tagged[1].content_size);
      await screenshot(page, 'pull-all-tags-plan');
      await openStore(page);
      assert.deepEqual(await rows(page), [], 'nothing is pulled before the person confirms');

      await page.click('[data-testid="pull-tags-confirm"]');
      await page.waitForSelector('[data-testid="pull-progress"]:not([data-state="running"])', { timeout: PULL_TIMEOUT });
      assert.equal(await page.getAttribute('[data-testid="pull-progress"]', 'data-state'), 'done');
      assert.equal(await page.getAttribute('[data-testid="pull-progress"]', 'data-stored'), '2');
      await page.waitForSelector(`[data-testid="stored-image-row"][data-id="${tagged[1].config_digest}"]`);
      const stored = (await rows(page)).sort((a, b) => a.id.localeCompare(b.id));
      const expected = tagged.map((i) => ({ id: i.config_digest, size: i.content_size })).sort((a, b) => a.id.localeCompare(b.id));
      assert.deepEqual(stored, expected);
      const lines = await logLines(page);
      for (const tag of planned) assert.ok(lines.some((l) => l.startsWith(`${tag}: Pulling from `) && l.endsWith('pulltest/tags')), `${tag} in ${lines}`);
      assert.ok(lines.includes(`${tagged[0].layers[0].digest.slice(7, 19)}: Already exists`), 'the shared layer is fetched once');
    } finally {
      await context.close();
    }
  });

  test('export: the tar passes skopeo as docker-archive and oci-archive', async () => {
    const { context, page } = await openPage(browser);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'imagescope-export-'));
    try {
      const hello = await pullHello(page);
      // The download path, as in a browser without a save dialog.
      await page.evaluate(() => { window.showSaveFilePicker = undefined; });
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click(`[data-testid="stored-image-row"][data-id="${hello.config_digest}"] [data-testid="export-button"]`),
      ]);
      assert.equal(download.suggestedFilename(), 'hello_1.0.tar');
      const file = path.join(dir, 'hello.tar');
      await download.saveAs(file);
      await page.waitForSelector('[data-testid="export-status"][data-state="ready"]');
      checkArchive(file, hello, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await context.close();
    }
  });

  test('export: with a save dialog the tar goes into the picked file, and closing the dialog saves nothing', async () => {
    const { context, page } = await openPage(browser);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'imagescope-picked-'));
    try {
      const hello = await pullHello(page);
      const exportButton = `[data-testid="stored-image-row"][data-id="${hello.config_digest}"] [data-testid="export-button"]`;
      // The dialog itself cannot be driven headless; these stand in for the person's choice and
      // hand back a real file handle (in OPFS, outside the store's directory).
      await page.evaluate(() => {
        window.showSaveFilePicker = async () => { throw new DOMException('The user aborted a request.', 'AbortError'); };
      });
      await page.click(exportButton);
      await page.waitForTimeout(500);
      assert.equal(await page.$('[data-testid="export-status"]'), null, 'a closed dialog starts no export');
      assert.deepEqual(await opfsNames(page, 'exports'), []);

      await page.evaluate(() => {
        window.showSaveFilePicker = async (options) => {
          window.suggestedName = options.suggestedName;
          const top = await navigator.storage.getDirectory();
          return top.getFileHandle('picked.tar', { create: true });
        };
      });
      await page.click(exportButton);
      await page.waitForSelector('[data-testid="export-status"][data-state="saved"]');
      assert.equal(await page.evaluate(() => window.suggestedName), 'hello_1.0.tar');
      assert.match(await page.textContent('[data-testid="export-status"]'), /Saved to picked\.tar/);
      assert.deepEqual(await opfsNames(page, 'exports'), [], 'the store keeps no copy of a saved export');
      const base64 = await page.evaluate(async () => {
        const top = await navigator.storage.getDirectory();
        const bytes = new Uint8Array(await (await (await top.getFileHandle('picked.tar')).getFile()).arrayBuffer());
        let text = '';
        for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(text);
      });
      const file = path.join(dir, 'picked.tar');
      writeFileSync(file, Buffer.from(base64, 'base64'));
      checkArchive(file, hello, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await context.close();
    }
  });
});

/** Pulls the hello fixture and waits for its row in the store. */
async function pullHello(page) {
  const hello = state.fixtures['public/hello:1.0'];
  assert.equal((await pullImage(page, `${state.registries.anon.cors}/public/hello:1.0`)).state, 'done');
  await page.waitForSelector(`[data-testid="stored-image-row"][data-id="${hello.config_digest}"]`);
  return hello;
}

/** Checks an exported tar with skopeo as docker-archive and oci-archive against the fixture. */
function checkArchive(file, image, dir) {
  const docker = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${file}`], { encoding: 'utf8' }));
  // docker-archive names layers by their uncompressed digests (the config's diff_ids).
  assert.deepEqual(docker.Layers, image.layers.map((l) => l.diff_id));
  const dockerConfig = execFileSync('skopeo', ['inspect', '--raw', '--config', `docker-archive:${file}`]);
  assert.equal(`sha256:${createHash('sha256').update(dockerConfig).digest('hex')}`, image.config_digest);
  const raw = execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${file}`]);
  assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, image.manifest_digest);

  const layout = path.join(dir, 'oci');
  rmSync(layout, { recursive: true, force: true });
  execFileSync('skopeo', ['copy', '--quiet', '--preserve-digests', `oci-archive:${file}`, `oci:${layout}`]);
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
  const manifestDigest = index.manifests[0].digest;
  assert.equal(manifestDigest, image.manifest_digest);
  const manifest = JSON.parse(readFileSync(path.join(layout, 'blobs/sha256', hex(manifestDigest)), 'utf8'));
  assert.equal(manifest.config.digest, image.config_digest);
  assert.deepEqual(manifest.layers.map((l) => [l.digest, l.size]), image.layers.map((l) => [l.digest, l.size]));
  for (const d of [manifestDigest, image.config_digest, ...image.layers.map((l) => l.digest)]) {
    const bytes = readFileSync(path.join(layout, 'blobs/sha256', hex(d)));
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, d);
  }
}
