// The Files view end to end: layers of the test bed's fixtures listed in headless Chromium by
// the store worker, checked against GNU `tar -tvf` on the same blobs; the merged filesystem
// against `imagescope ls --json` and `umoci unpack`; layer changes and wasted bytes; search;
// the text viewer; saved files byte for byte; listings read from OPFS after a pull; a listing
// that fills in while its blob is still arriving and stops on request; a damaged blob.
//
//   IMAGESCOPE_DIST=… IMAGESCOPE_TESTBED_DIR=… IMAGESCOPE_BIN=… node --test tests/e2e/files.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DESKTOP, PHONE, ROOT, fillCredentials, inspect, inspectUrl, launch, openLink, openPage, screenshot, startTestbed,
} from './harness.mjs';
import { startFaultProxy } from './faultproxy.mjs';
import { pushImage } from './push.mjs';

const IMAGESCOPE = process.env.IMAGESCOPE_BIN ?? path.join(ROOT, 'target/debug/imagescope');
const TIMEOUT = 30000;
const MANY = 2500;
const BIG_TEXT = 5 * 1024 * 1024;

let state;
let browser;
let proxy;
let scratch;
/** An image of the test's own: many small files, a binary file, a text file over the viewer's limit. */
let mixed;

/** One gzip layer made with Python's tarfile, as the fixtures are. */
function mixedLayer() {
  const script = `
import gzip, hashlib, io, sys, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
    def add(name, data=None, kind=tarfile.REGTYPE, mode=0o644):
        info = tarfile.TarInfo(name)
        info.mtime, info.mode, info.type = 1704067200, mode, kind
        if data is not None:
            info.size = len(data)
        tar.addfile(info, io.BytesIO(data) if data is not None else None)
    add("docs", kind=tarfile.DIRTYPE, mode=0o755)
    add("docs/readme.txt", b"hello from the mixed image\\n")
    add("many", kind=tarfile.DIRTYPE, mode=0o755)
    for i in range(${MANY}):
        add("many/file-%04d.txt" % i, b"%d\\n" % i)
    add("bin", kind=tarfile.DIRTYPE, mode=0o755)
    add("bin/blob", bytes(range(256)) * 8, mode=0o755)
    lines = b"".join(hashlib.sha256(b"%d" % i).hexdigest().encode() + b"\\n" for i in range(${BIG_TEXT} // 65 + 1))
    add("big.txt", lines[:${BIG_TEXT}])
sys.stdout.buffer.write(gzip.compress(buf.getvalue(), compresslevel=6, mtime=0))
`;
  return execFileSync('python3', ['-c', script], { maxBuffer: 64 << 20 });
}

before(async () => {
  state = startTestbed();
  browser = await launch();
  proxy = await startFaultProxy(state.registries.anon.cors);
  scratch = mkdtempSync(path.join(os.tmpdir(), 'imagescope-files-'));
  mixed = await pushImage(state.registries.anon.direct, 'filestest/mixed', '1.0', [{ bytes: mixedLayer() }], 'files.test mixed');
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const squeeze = (line) => line.split(/\s+/).filter(Boolean).join(' ');

/** A layer blob as the registry serves it, plain tar (zstd undone with the zstd tool). */
function layerTar(repository, layer) {
  const blob = path.join(scratch, layer.digest.replace(':', '-'));
  execFileSync('curl', ['-sSfL', '-o', blob, `http://${state.registries.anon.direct}/v2/${repository}/blobs/${layer.digest}`]);
  if (!layer.media_type.endsWith('zstd')) return blob;
  execFileSync('zstd', ['-q', '-d', '-f', '-o', `${blob}.tar`, blob]);
  return `${blob}.tar`;
}

function tarTvf(repository, layer) {
  const out = execFileSync('tar', ['-tvf', layerTar(repository, layer)], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } });
  return out.trim().split('\n').map(squeeze).sort();
}

function lsJson(reference) {
  assert.ok(existsSync(IMAGESCOPE), `${IMAGESCOPE} is missing: cargo build -p imagescope (or set IMAGESCOPE_BIN)`);
  return JSON.parse(execFileSync(IMAGESCOPE, ['ls', reference, '--json'], { encoding: 'utf8' }));
}

/** Every row shown, with what its cells say. */
async function rows(page) {
  return page.$$eval('[data-testid="file-row"]', (els) => els.map((e) => {
    const cells = [...e.children].map((td) => td.textContent.trim());
    return {
      path: e.dataset.path, kind: e.dataset.kind, bytes: Number(e.dataset.bytes), layer: e.dataset.layer ?? null,
      target: e.dataset.target ?? null, deleted: e.classList.contains('whiteout') || e.classList.contains('opaque'),
      mode: cells[1], owner: cells[2], size: cells[3], mtime: cells[4],
    };
  }));
}

/** Waits until the rows shown satisfy `ok`, and returns them. */
async function rowsWhen(page, ok, what) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const shown = await rows(page);
    if (ok(shown)) return shown;
    if (Date.now() > deadline) throw new Error(`rows never ${what}: ${JSON.stringify(shown.map((r) => r.path))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function view(page) {
  return page.$eval('[data-testid="files-view"]', (e) => ({ ...e.dataset }));
}

/** Opens the files of layer `index` (0 = base), or with `null` the merged filesystem, and waits for the end. */
async function browse(page, index) {
  const button = index === null ? '[data-testid="filesystem-button"]' : `[data-testid="layer-row"]:nth-child(${index + 1}) [data-testid="files-button"]`;
  await page.click(button);
  const scope = index === null ? ':not([data-layer])' : `[data-layer="${index + 1}"]`;
  await page.waitForSelector(`[data-testid="files-view"]${scope}:not([data-state="running"])`, { timeout: TIMEOUT });
  const shown = await view(page);
  assert.equal(shown.state, 'done', await page.textContent('[data-testid="files-view"]'));
  return shown;
}

async function openAll(page, expected) {
  await page.click('[data-testid="files-open-all"]');
  return rowsWhen(page, (r) => r.length === expected, `reached ${expected}`);
}

/** A row as `tar -tvf` prints its entry (GNU tar writes `h` and `link to` for hardlinks). */
function tarLine(r) {
  const size = r.kind === 'char_device' || r.kind === 'block_device' ? r.size : r.kind === 'dir' ? 0 : r.bytes;
  const name = r.kind === 'dir' ? `${r.path}/` : r.path;
  const tail = r.kind === 'symlink' ? ` -> ${r.target}` : r.kind === 'hardlink' ? ` link to ${r.target}` : '';
  return squeeze(`${r.mode} ${r.owner} ${size} ${r.mtime} ${name}${tail}`);
}

describe('files inside layers', () => {
  test('every layer of public/tree and public/zstd lists as tar -tvf lists its blob', async () => {
    const { context, page, consoleErrors } = await openPage(browser);
    try {
      let deletions = 0;
      await page.goto(state.app_origin + '/');
      for (const key of ['public/tree:1.0', 'public/zstd:1.0']) {
        const fixture = state.fixtures[key];
        await inspect(page, `${state.registries.anon.cors}/${key}`);
        for (const [i, layer] of fixture.layers.entries()) {
          const expected = tarTvf(fixture.repository, layer);
          const shown = await browse(page, i);
          assert.equal(shown.source, 'registry');
          assert.equal(Number(shown.doneBytes), layer.size);
          assert.equal(Number(shown.entries), expected.length);
          await page.click('[data-testid="files-open-all"]');
          const listed = (await rowsWhen(page, (r) => r.filter((x) => x.layer).length === expected.length, 'opened')).filter((r) => r.layer !== null);
          assert.ok(listed.every((r) => r.layer === String(i + 1)), `${key} layer ${i + 1}: every entry names its layer`);
          assert.deepEqual(listed.map(tarLine).sort(), expected, `${key} layer ${i + 1}`);
          for (const r of listed.filter((x) => x.deleted)) {
            deletions += 1;
            assert.ok(r.kind === 'whiteout' || r.kind === 'opaque', r.path);
          }
        }
      }
      assert.equal(deletions, 3, 'public/tree has a file whiteout, an opaque directory and a directory whiteout');
      assert.deepEqual(consoleErrors, []);
    } finally {
      await context.close();
    }
  });

  test('whiteouts show as deletions of what they remove', async () => {
    const { context, page } = await openPage(browser);
    try {
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/public/tree:1.0`));
      await browse(page, 1);
      const shown = await openAll(page, 7);
      const byPath = Object.fromEntries(shown.map((r) => [r.path, r]));
      assert.equal(byPath['data/.wh.to-delete.txt'].kind, 'whiteout');
      assert.equal(byPath['data/.wh.to-delete.txt'].target, 'data/to-delete.txt');
      assert.equal(byPath['opaque/.wh..wh..opq'].kind, 'opaque');
      assert.equal(byPath['opaque/.wh..wh..opq'].target, 'opaque');
      const text = await page.textContent('[data-testid="file-row"][data-path="data/.wh.to-delete.txt"]');
      assert.match(text, /to-delete\.txt.*deleted \(whiteout\)/);
      assert.doesNotMatch(text, /\.wh\./, 'the name shown is the one deleted');
      assert.equal(await page.$eval('[data-testid="file-row"][data-path="data/.wh.to-delete.txt"] .name', (e) => getComputedStyle(e).textDecorationLine), 'line-through');
      await browse(page, 2);
      await openAll(page, 8);
      assert.equal((await page.getAttribute('[data-testid="file-row"][data-path="usr/.wh.share"]', 'data-target')), 'usr/share');
    } finally {
      await context.close();
    }
  });

  test('the merged filesystem equals imagescope ls and what umoci unpack extracts', async () => {
    const { context, page, consoleErrors } = await openPage(browser);
    try {
      const reference = `${state.registries.anon.cors}/public/tree:1.0`;
      const ls = lsJson(`${state.registries.anon.direct}/public/tree:1.0`);
      await openLink(page, inspectUrl(state, reference));
      const shown = await browse(page, null);
      assert.equal(Number(shown.doneBytes), state.fixtures['public/tree:1.0'].layers_size);
      const merged = await openAll(page, ls.entries.length);
      const ours = merged.map((r) => ({ path: r.path, type: r.kind, mode: r.mode, owner: r.owner, size: r.kind === 'dir' ? 0 : r.bytes, layer: r.layer === null ? null : Number(r.layer), target: r.target }));
      const theirs = ls.entries.map((e) => ({ path: e.path, type: e.type, mode: e.mode_string, owner: `${e.uid}/${e.gid}`, size: e.type === 'dir' ? 0 : e.size, layer: e.layer, target: e.target ?? null }));
      assert.deepEqual(ours, theirs);
      const dirs = Object.fromEntries(merged.filter((r) => r.kind === 'dir').map((r) => [r.path, r.bytes]));
      for (const e of ls.entries.filter((x) => x.type === 'dir')) assert.equal(dirs[e.path], e.size, `${e.path}: bytes of the files under it`);

      const layout = path.join(scratch, 'oci');
      execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${state.registries.anon.direct}/public/tree:1.0`, `oci:${layout}:tree`]);
      const bundle = path.join(scratch, 'bundle');
      execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:tree`, bundle]);
      const rootfs = path.join(bundle, 'rootfs');
      const unpacked = [];
      const walk = (dir) => {
        for (const name of readdirSync(dir).sort()) {
          const full = path.join(dir, name);
          const st = lstatSync(full);
          const rel = path.relative(rootfs, full);
          const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file';
          unpacked.push({ path: rel, type, perm: (st.mode & 0o7777).toString(8), size: type === 'file' ? st.size : 0, target: type === 'symlink' ? readlinkSync(full) : null });
          if (st.isDirectory()) walk(full);
        }
      };
      walk(rootfs);
      const permOf = (mode) => {
        const bits = [...mode.slice(1)];
        let n = 0;
        for (const [i, c] of bits.entries()) if (c !== '-' && !'ST'.includes(c)) n |= 1 << (8 - i);
        if ('sS'.includes(bits[2])) n |= 0o4000;
        if ('sS'.includes(bits[5])) n |= 0o2000;
        if ('tT'.includes(bits[8])) n |= 0o1000;
        return n.toString(8);
      };
      // umoci makes a hardlink a second name of its target: a regular file.
      const ourTree = merged.map((r) => ({
        path: r.path, type: r.kind === 'hardlink' ? 'file' : r.kind, perm: permOf(r.mode), size: r.kind === 'dir' ? 0 : r.bytes,
        target: r.kind === 'symlink' ? r.target : null,
      })).sort((a, b) => a.path.localeCompare(b.path));
      assert.deepEqual(ourTree, unpacked.sort((a, b) => a.path.localeCompare(b.path)));

      const efficiency = await page.$eval('[data-testid="files-efficiency"]', (e) => ({ ...e.dataset }));
      assert.deepEqual([efficiency.fileBytes, efficiency.finalBytes, efficiency.wastedBytes].map(Number), [ls.file_bytes, ls.final_bytes, ls.wasted_bytes]);
      const layers = await page.$$eval('[data-testid="layer-summary"]', (els) => els.map((e) => [Number(e.dataset.deleted), Number(e.dataset.wastedBytes)]));
      assert.deepEqual(layers, ls.layers.map((l) => [l.deleted, l.wasted_bytes]));
      assert.deepEqual(layers, [[0, 51], [3, 10], [1, 0]], 'to-delete.txt and opaque/{a,b}.txt deleted in 2, usr/share in 3');
      assert.deepEqual(consoleErrors, []);
    } finally {
      await context.close();
    }
  });

  test('what each layer added, changed and deleted, as imagescope ls reports it', async () => {
    const { context, page } = await openPage(browser);
    try {
      const ls = lsJson(`${state.registries.anon.direct}/public/tree:1.0`);
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/public/tree:1.0`));
      await browse(page, null);
      for (const layer of [2, 3, 1]) {
        await page.click(`[data-testid="layer-summary"][data-layer="${layer}"] [data-testid="layer-changes-button"]`);
        await page.waitForSelector(`[data-testid="layer-changes"][data-layer="${layer}"]`);
        const changes = await page.$$eval('[data-testid="change-row"]', (els) => els.map((e) => ({ path: e.dataset.path, change: e.dataset.change, size: Number(e.dataset.bytes) })));
        assert.deepEqual(changes, ls.layers[layer - 1].changes, `layer ${layer}`);
      }
      await page.click('[data-testid="layer-summary"][data-layer="2"] [data-testid="layer-changes-button"]');
      await page.waitForSelector('[data-testid="layer-changes"][data-layer="2"]');
      const deleted = await page.$$eval('[data-testid="change-row"][data-change="deleted"]', (els) => els.map((e) => e.dataset.path));
      assert.deepEqual(deleted.sort(), ['data/to-delete.txt', 'opaque/a.txt', 'opaque/b.txt']);
    } finally {
      await context.close();
    }
  });

  test('search lists the paths holding a substring, in any case; clearing it brings the tree back', async () => {
    const { context, page } = await openPage(browser);
    try {
      const ls = lsJson(`${state.registries.anon.direct}/public/tree:1.0`);
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/public/tree:1.0`));
      await browse(page, null);
      const top = await rows(page);
      await page.fill('[data-testid="file-search"]', 'TOOL');
      const want = ls.entries.map((e) => e.path).filter((p) => p.toLowerCase().includes('tool'));
      assert.ok(want.length >= 4, want.join());
      const found = await rowsWhen(page, (r) => r.length === want.length && r.every((x) => x.path.toLowerCase().includes('tool')), 'matched TOOL');
      assert.deepEqual(found.map((r) => r.path), want);
      await page.fill('[data-testid="file-search"]', 'no such path');
      await rowsWhen(page, (r) => r.length === 0, 'emptied');
      assert.match(await page.textContent('[data-testid="files-more"]'), /Nothing to show/);
      await page.fill('[data-testid="file-search"]', '');
      const back = await rowsWhen(page, (r) => r.length === top.length, 'came back');
      assert.deepEqual(back.map((r) => r.path), top.map((r) => r.path));
    } finally {
      await context.close();
    }
  });

  test('folders open and close from the keyboard', async () => {
    const { context, page } = await openPage(browser);
    try {
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/public/tree:1.0`));
      await browse(page, null);
      const toggle = '[data-testid="file-row"][data-path="usr"] button.toggle';
      assert.equal(await page.getAttribute(toggle, 'aria-expanded'), 'false');
      await page.focus(toggle);
      await page.keyboard.press('Enter');
      await rowsWhen(page, (r) => r.some((x) => x.path === 'usr/bin'), 'showed usr/bin');
      assert.equal(await page.getAttribute(toggle, 'aria-expanded'), 'true');
      await page.focus(toggle);
      await page.keyboard.press('Space');
      await rowsWhen(page, (r) => !r.some((x) => x.path === 'usr/bin'), 'hid usr/bin');
    } finally {
      await context.close();
    }
  });

  test('the text viewer shows a file as the layer that wrote it holds it, and refuses binary and large files', async () => {
    const { context, page } = await openPage(browser);
    try {
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/public/tree:1.0`));
      const viewText = async (file) => {
        await page.click(`[data-testid="file-row"][data-path="${file}"] [data-testid="file-view"]`);
        await page.waitForSelector(`[data-testid="file-viewer"][data-path="${file}"]:not([data-state="loading"])`, { timeout: TIMEOUT });
        return page.$eval('[data-testid="file-viewer"]', (e) => ({ state: e.dataset.state, text: e.querySelector('pre')?.textContent ?? e.textContent }));
      };
      await browse(page, null);
      await openAll(page, 16);
      assert.deepEqual(await viewText('etc/config.txt'), { state: 'ready', text: 'version=3\n' });
      assert.deepEqual(await viewText('usr/bin/tool-hard'), { state: 'ready', text: '#!/bin/sh\necho tool\n' }, 'a hardlink shows its target');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'file-viewer', 'the viewer takes the focus');
      await browse(page, 0);
      await openAll(page, 17);
      assert.deepEqual(await viewText('etc/config.txt'), { state: 'ready', text: 'version=1\n' });

      await inspect(page, `${state.registries.anon.cors}/filestest/mixed:1.0`);
      await browse(page, 0);
      await page.fill('[data-testid="file-search"]', 'bin/blob');
      await rowsWhen(page, (r) => r.length === 1, 'found bin/blob');
      const binary = await viewText('bin/blob');
      assert.equal(binary.state, 'failed');
      assert.match(binary.text, /bin\/blob is not text .*save it instead/);
      await page.fill('[data-testid="file-search"]', 'big.txt');
      await rowsWhen(page, (r) => r.length === 1, 'found big.txt');
      const large = await viewText('big.txt');
      assert.equal(large.state, 'failed');
      assert.match(large.text, new RegExp(`big\\.txt is ${BIG_TEXT} bytes: the viewer opens text files up to 4194304 bytes; save it instead`));
      await page.click('[data-testid="file-viewer-close"]');
      await page.waitForSelector('[data-testid="file-viewer"]', { state: 'detached' });
    } finally {
      await context.close();
    }
  });

  test('Save hands over exactly the bytes of a file, a hardlink and a 5 MiB file', async () => {
    const { context, page } = await openPage(browser);
    try {
      const save = async (file) => {
        const [download] = await Promise.all([
          page.waitForEvent('download', { timeout: TIMEOUT }),
          page.click(`[data-testid="file-row"][data-path="${file}"] [data-testid="file-save"]`),
        ]);
        const target = path.join(scratch, `saved-${download.suggestedFilename()}`);
        await download.saveAs(target);
        await page.waitForSelector(`[data-testid="file-save-status"][data-path="${file}"][data-state="ready"]`);
        return { name: download.suggestedFilename(), bytes: readFileSync(target) };
      };
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/public/tree:1.0`));
      await browse(page, null);
      await openAll(page, 16);
      const config = await save('etc/config.txt');
      assert.equal(config.name, 'config.txt');
      assert.equal(config.bytes.toString(), 'version=3\n');
      const hard = await save('usr/bin/tool-hard');
      assert.equal(hard.name, 'tool-hard');
      assert.equal(hard.bytes.toString(), '#!/bin/sh\necho tool\n');

      await inspect(page, `${state.registries.anon.cors}/filestest/mixed:1.0`);
      await browse(page, 0);
      await page.fill('[data-testid="file-search"]', 'big.txt');
      await rowsWhen(page, (r) => r.length === 1, 'found big.txt');
      const big = await save('big.txt');
      const tar = layerTar('filestest/mixed', { digest: mixed.layers[0].digest, media_type: 'application/vnd.oci.image.layer.v1.tar+gzip' });
      const want = execFileSync('tar', ['-xOf', tar, 'big.txt'], { maxBuffer: 64 << 20 });
      assert.equal(big.bytes.length, BIG_TEXT);
      assert.equal(sha256(big.bytes), sha256(want));
    } finally {
      await context.close();
    }
  });

  test('a layer with more rows than one view holds says so', async () => {
    const { context, page } = await openPage(browser);
    try {
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/filestest/mixed:1.0`));
      const shown = await browse(page, 0);
      assert.equal(Number(shown.entries), MANY + 6);
      await page.click('[data-testid="files-open-all"]');
      await page.waitForSelector(`[data-testid="files-view"][data-rows="${MANY + 6}"]`);
      await rowsWhen(page, (r) => r.length === 2000, 'filled one view');
      assert.match(await page.textContent('[data-testid="files-more"]'), new RegExp(`first 2000 of ${MANY + 6} rows`));
    } finally {
      await context.close();
    }
  });

  test('a pulled image is listed from the browser\'s storage, with no blob requests', async () => {
    const { context, page, requests } = await openPage(browser);
    try {
      const fixture = state.fixtures['public/tree:1.0'];
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/public/tree:1.0`));
      await page.click('[data-testid="pull-button"]');
      await page.waitForSelector('[data-testid="pull-progress"][data-state="done"]', { timeout: TIMEOUT });
      const before = requests.length;
      const shown = await browse(page, null);
      assert.equal(shown.source, 'store');
      assert.equal(Number(shown.doneBytes), fixture.layers_size);
      await page.click('[data-testid="file-row"][data-path="etc"] button.toggle');
      await rowsWhen(page, (r) => r.some((x) => x.path === 'etc/config.txt'), 'opened etc');
      await page.click('[data-testid="file-row"][data-path="etc/config.txt"] [data-testid="file-view"]');
      await page.waitForSelector('[data-testid="file-viewer"][data-state="ready"]');
      assert.deepEqual(requests.slice(before).filter((r) => r.url.includes('/blobs/')), []);
    } finally {
      await context.close();
    }
  });

  test('a private image is listed with the credentials the page used', async () => {
    const { context, page } = await openPage(browser);
    try {
      const { username, password } = state.users.basic;
      await page.goto(state.app_origin + '/');
      await fillCredentials(page, 'password', { 'cred-username': username, 'cred-password': password });
      await inspect(page, `${state.registries.basic.cors}/private/secret:1.0`);
      await browse(page, 0);
      await openAll(page, 2);
      await page.click('[data-testid="file-row"][data-path="secret/flag.txt"] [data-testid="file-view"]');
      await page.waitForSelector('[data-testid="file-viewer"][data-state="ready"]', { timeout: TIMEOUT });
      assert.equal(await page.textContent('[data-testid="file-viewer"] pre'), 'imagescope-private-flag\n');
    } finally {
      await context.close();
    }
  });

  test('the listing fills in while the blob arrives, and Stop ends the download but keeps what was listed', async () => {
    const { context, page } = await openPage(browser);
    try {
      proxy.clear();
      const digest = mixed.layers[0].digest;
      proxy.holdAfter(digest, Math.floor(mixed.layers[0].size / 2));
      await openLink(page, inspectUrl(state, `${proxy.host}/filestest/mixed:1.0`));
      await page.click('[data-testid="files-button"]');
      await page.waitForFunction((many) => {
        const v = document.querySelector('[data-testid="files-view"]');
        return v && v.dataset.state === 'running' && Number(v.dataset.entries) >= many && document.querySelectorAll('[data-testid="file-row"]').length > 0;
      }, MANY, { timeout: TIMEOUT }).catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await view(page))}`); });
      const running = await view(page);
      assert.ok(Number(running.doneBytes) > 0 && Number(running.doneBytes) < Number(running.totalBytes), JSON.stringify(running));
      await page.click('[data-testid="files-cancel"]');
      await page.waitForSelector('[data-testid="files-view"][data-state="cancelled"]');
      assert.equal(await page.getAttribute('[data-testid="files-error"]', 'data-kind'), 'cancelled');
      assert.ok((await rows(page)).length > 0, 'what was listed stays');
      const blob = proxy.log.find((r) => r.url.endsWith(`/blobs/${digest}`));
      const deadline = Date.now() + 5000;
      while (!blob.closedEarly && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(blob.closedEarly, 'the browser hung up on the blob download');
    } finally {
      proxy.clear();
      await context.close();
    }
  });

  test('a damaged blob fails the listing with a clear error', async () => {
    const { context, page } = await openPage(browser);
    try {
      proxy.clear();
      const fixture = state.fixtures['public/tree:1.0'];
      proxy.corrupt(fixture.layers[0].digest);
      await openLink(page, inspectUrl(state, `${proxy.host}/public/tree:1.0`));
      await page.click('[data-testid="files-button"]');
      await page.waitForSelector('[data-testid="files-view"][data-state="failed"]', { timeout: TIMEOUT });
      const kind = await page.getAttribute('[data-testid="files-error"]', 'data-kind');
      assert.ok(['layer', 'blob'].includes(kind), kind);
      assert.match(await page.textContent('[data-testid="files-error"]'), new RegExp(`layer 1`));
    } finally {
      proxy.clear();
      await context.close();
    }
  });

  test('screenshots: light and dark, desktop and phone', async () => {
    for (const [colorScheme, viewport, name] of [['light', DESKTOP, 'light-desktop'], ['dark', DESKTOP, 'dark-desktop'], ['light', PHONE, 'light-phone'], ['dark', PHONE, 'dark-phone']]) {
      const { context, page } = await openPage(browser, { viewport, colorScheme });
      try {
        await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/public/tree:1.0`));
        await browse(page, null);
        await openAll(page, 16);
        await page.click('[data-testid="layer-summary"][data-layer="2"] [data-testid="layer-changes-button"]');
        await page.waitForSelector('[data-testid="layer-changes"]');
        await page.click('[data-testid="file-row"][data-path="etc/config.txt"] [data-testid="file-view"]');
        await page.waitForSelector('[data-testid="file-viewer"][data-state="ready"]');
        const file = await screenshot(page, `files-${name}`);
        assert.ok(existsSync(file));
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `${name}: the page scrolls sideways by ${overflow}px`);
      } finally {
        await context.close();
      }
    }
  });
});
