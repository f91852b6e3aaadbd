// The streaming-listing benchmark (prints figures; not a test): on the test bed, list the
// 256 MiB layer of bench/large:1.0 with "Browse files" in headless Chromium, the store worker
// reading it straight from the registry, and print the rate and the memory growth of the page
// and of the worker while it streams (JS heap and ArrayBuffer/wasm backing stores, via the
// DevTools protocol). The listing keeps entries, never the layer's bytes, so the growth should
// stay flat whatever the layer's size.
//
//   IMAGESCOPE_DIST=… IMAGESCOPE_TESTBED_DIR=… node tests/e2e/files-bench.mjs [--smoke]
//
// --smoke lists the first layer of public/hello:1.0 instead and finishes in seconds.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, inspectUrl, launch, openLink, openPage, startTestbed } from './harness.mjs';
import { memoryWatch, workerSession } from './cdp.mjs';

const smoke = process.argv.includes('--smoke');
const MiB = 1024 * 1024;

let state = startTestbed();
const key = smoke ? 'public/hello:1.0' : 'bench/large:1.0';
if (!state.fixtures[key]) {
  execFileSync('python3', [path.join(ROOT, 'tests/testbed/testbed.py'), 'seed-large'], { stdio: ['ignore', 'ignore', 'inherit'] });
  state = startTestbed();
}
const fixture = state.fixtures[key];
// The largest layer is the one worth measuring.
const index = fixture.layers.reduce((best, l, i) => (l.size > fixture.layers[best].size ? i : best), 0);
const layer = fixture.layers[index];
const reference = `${state.registries.anon.cors}/${fixture.repository}:${fixture.tag}`;

const browser = await launch();
try {
  const { page } = await openPage(browser);
  await openLink(page, inspectUrl(state, reference));
  const pageSession = await page.context().newCDPSession(page);
  // Start the store worker first, so the baseline includes it.
  await page.click('[data-testid="store-toggle"]');
  await page.waitForSelector('[data-testid="stored-images"], [data-testid="store-empty"]');
  const memory = await memoryWatch(pageSession, await workerSession(browser));
  const start = process.hrtime.bigint();
  await page.click(`[data-testid="layer-row"]:nth-child(${index + 1}) [data-testid="files-button"]`);
  const running = '[data-testid="files-view"][data-state="running"]';
  while (await page.$(running) || !(await page.$('[data-testid="files-view"]'))) {
    await memory.sample();
    await new Promise((r) => setTimeout(r, 100));
  }
  const millis = Number(process.hrtime.bigint() - start) / 1e6;
  await memory.sample();
  const done = await page.$eval('[data-testid="files-view"]', (e) => ({ ...e.dataset }));
  if (done.state !== 'done') throw new Error(`the listing ended ${done.state}: ${await page.textContent('[data-testid="files-view"]')}`);
  const part = (side, kind) => (memory.part(side, kind) / MiB).toFixed(1);
  const rate = (layer.size / MiB) / (millis / 1000);
  console.log(`layer            ${index + 1} of ${reference}: ${(layer.size / MiB).toFixed(3)} MiB blob, ${(layer.uncompressed_size / MiB).toFixed(3)} MiB of tar, ${done.entries} entries, read from the ${done.source}`);
  console.log(`listing          ${rate.toFixed(rate < 1 ? 3 : 1)} MiB/s (${millis.toFixed(0)} ms from click to the last row, digest checked)`);
  console.log(`memory growth    page ${(memory.growth('page') / MiB).toFixed(1)} MiB, worker ${(memory.growth('worker') / MiB).toFixed(1)} MiB (peak over baseline of JS heap + ArrayBuffer/wasm backing stores)`);
  console.log(`                 worker JS heap ${part('worker', 'js')} MiB, backing stores ${part('worker', 'backing')} MiB; page JS heap ${part('page', 'js')} MiB, backing stores ${part('page', 'backing')} MiB`);
} finally {
  await browser.close();
}
