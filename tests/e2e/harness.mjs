// The end-to-end harness: the real test bed serving the built app, and Debian's Chromium
// driven through playwright-core (never a downloaded browser).

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = process.env.IMAGESCOPE_DIST ?? path.join(ROOT, 'dist');
export const SCREENSHOTS = path.join(ROOT, 'test-output', 'screenshots');

const require = createRequire(import.meta.url);
const { chromium } = require(path.join(ROOT, 'tools/node_modules/playwright-core'));

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** Starts (or reuses) the test bed serving dist/ and returns its state.json. */
export function startTestbed() {
  if (!existsSync(path.join(DIST, 'index.html'))) {
    throw new Error(`no built app in ${DIST}: run tests/e2e/build.sh first`);
  }
  const out = execFileSync('python3', [path.join(ROOT, 'tests/testbed/testbed.py'), 'up', '--app-dir', DIST], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const statePath = out.split('\n').pop();
  const state = JSON.parse(readFileSync(statePath, 'utf8'));
  if (!state.app_origin) throw new Error('the test bed is not serving the app');
  return state;
}

export async function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * Chromium with a real profile on disk, as a person runs it. `browser.newContext()` is an
 * incognito-like context whose OPFS lives in memory and writes at a fraction of the disk's
 * speed, so throughput figures come from this one. `close()` removes the profile.
 */
export async function launchProfile({ viewport = DESKTOP } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imagescope-profile-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, viewport });
  return {
    context,
    browser: context.browser(),
    page: context.pages()[0] ?? await context.newPage(),
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh page (own storage) that records every request the app makes. */
export async function openPage(browser, { viewport = DESKTOP, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  const requests = [];
  const consoleErrors = [];
  page.on('request', (r) => requests.push({ method: r.method(), url: r.url() }));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return { context, page, requests, consoleErrors };
}

export function inspectUrl(state, reference, platform) {
  const hash = `#/inspect/${encodeURI(reference)}${platform ? `?platform=${platform}` : ''}`;
  return `${state.app_origin}/${hash}`;
}

/** Waits until inspection number `run` (1 for the first) has finished one way or another. */
export async function settled(page, run = 1) {
  await page.waitForSelector(`main[data-run="${run}"][data-busy="false"]`, { timeout: 20000 });
}

async function currentRun(page) {
  return Number(await page.getAttribute('main', 'data-run'));
}

export async function attr(page, testid, name) {
  return page.getAttribute(`[data-testid="${testid}"]`, name);
}

export async function text(page, testid) {
  return (await page.textContent(`[data-testid="${testid}"]`))?.trim();
}

export async function texts(page, selector) {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
  return file;
}

/** Fills the credentials panel with one of its forms. */
export async function fillCredentials(page, kind, fields) {
  // The app mounts after its wasm has loaded, which can be after the page's load event.
  await page.waitForSelector('details.credentials');
  const summary = page.locator('details.credentials > summary');
  if (!(await page.$eval('details.credentials', (d) => d.open))) await summary.click();
  await page.click(`label[for="cred-kind-${kind}"]`);
  for (const [testid, value] of Object.entries(fields)) {
    await page.fill(`[data-testid="${testid}"]`, value);
  }
}

/** Types a reference, presses Inspect and waits for the result. */
export async function inspect(page, reference) {
  const run = await currentRun(page);
  await page.fill('[data-testid="ref-input"]', reference);
  await page.click('[data-testid="inspect-button"]');
  await settled(page, run + 1);
}

/** Opens a deep link in a fresh page load and waits for its inspection. */
export async function openLink(page, url) {
  await page.goto(url);
  await settled(page, 1);
}

/** Clicks a platform of the index shown and waits for the new inspection. */
export async function choosePlatform(page, platform) {
  const run = await currentRun(page);
  await page.click(`[data-testid="platform-option"][data-platform="${platform}"]`);
  await settled(page, run + 1);
}
