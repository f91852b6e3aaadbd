// The pull benchmark (prints figures; not a test): on the test bed, pull bench/large:1.0 in
// headless Chromium into OPFS, `skopeo copy` the same image from the same registry front to a
// dir:, hash the same number of bytes with the core's hasher in the store worker, and read the
// largest layer through the pull's fetch path without keeping it. Prints MiB/s of each, the
// ratio, and the tab's memory growth during the pull (JS heap and ArrayBuffer/wasm backing
// stores of the page and of the store worker, via the DevTools protocol).
//
//   IMAGESCOPE_DIST=… IMAGESCOPE_TESTBED_DIR=… node tests/e2e/bench.mjs [--smoke]
//
// --smoke pulls public/hello:1.0 instead and finishes in seconds.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, inspectUrl, launchProfile, openLink, startTestbed } from './harness.mjs';
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
const host = state.registries.anon.cors;
const reference = `${host}/${fixture.repository}:${fixture.tag}`;
const bytes = fixture.layers.reduce((n, l) => n + l.size, 0) + fixture.config_size + fixture.manifest_size;

function skopeoCopy() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imagescope-bench-'));
  try {
    const start = process.hrtime.bigint();
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--src-no-creds', `docker://${reference}`, `dir:${path.join(dir, 'image')}`]);
    return Number(process.hrtime.bigint() - start) / 1e6;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs one measuring command in a fresh store worker and returns its MiB/s. */
async function workerSpeed(page, command) {
  const reply = await page.evaluate((command) => new Promise((resolve, reject) => {
    const worker = new Worker('worker/boot.js');
    worker.onerror = (e) => reject(new Error(e.message));
    worker.onmessage = (e) => {
      const reply = JSON.parse(e.data);
      if (reply.reply === 'ready') worker.postMessage(JSON.stringify({ ...command, id: 1 }));
      if (reply.id === 1) { worker.terminate(); resolve(reply); }
    };
  }), command);
  if (reply.reply === 'failed') throw new Error(`${command.cmd}: ${reply.message}`);
  return (reply.bytes / MiB) / (reply.millis / 1000);
}

const skopeoMs = skopeoCopy();

// A real profile: its OPFS is on disk, where an incognito context's is in memory.
const { browser, page, close } = await launchProfile();
try {
  await openLink(page, inspectUrl(state, reference));
  const pageSession = await page.context().newCDPSession(page);
  await page.click('[data-testid="store-toggle"]');
  await page.waitForSelector('[data-testid="stored-images"], [data-testid="store-empty"]');
  const workerCdp = await workerSession(browser);
  const memory = await memoryWatch(pageSession, workerCdp);
  await page.click('[data-testid="pull-button"]');
  await page.waitForSelector('[data-testid="pull-progress"]');
  while (await page.$('[data-testid="pull-progress"][data-state="running"]')) {
    await memory.sample();
    await new Promise((r) => setTimeout(r, 100));
  }
  await memory.sample();
  const done = await page.$eval('[data-testid="pull-progress"]', (e) => ({ ...e.dataset }));
  if (done.state !== 'done') throw new Error(`the pull ended ${done.state}: ${await page.textContent('[data-testid="pull-progress"]')}`);
  const pullMs = Number(done.millis);
  const hashed = await workerSpeed(page, { cmd: 'hash_speed', bytes: Math.max(bytes, 16 * MiB) });
  const largest = fixture.layers.reduce((a, b) => (a.size >= b.size ? a : b));
  const read = await workerSpeed(page, { cmd: 'read_speed', url: `http://${host}/v2/${fixture.repository}/blobs/${largest.digest}` });

  const mibs = (ms) => (bytes / MiB) / (ms / 1000);
  const rate = (r) => r.toFixed(r < 1 ? 3 : 1);
  const browserRate = mibs(pullMs);
  const skopeoRate = mibs(skopeoMs);
  console.log(`image            ${reference} (${(bytes / MiB).toFixed(3)} MiB in ${fixture.layers.length} layers, through the registry's CORS front)`);
  console.log(`browser pull     ${rate(browserRate)} MiB/s (${pullMs.toFixed(0)} ms, into OPFS, ${done.totalBytes} layer bytes)`);
  console.log(`skopeo copy      ${rate(skopeoRate)} MiB/s (${skopeoMs.toFixed(0)} ms, to dir:)`);
  console.log(`ratio            ${(browserRate / skopeoRate).toFixed(2)} x skopeo`);
  console.log(`sha256 in worker ${hashed.toFixed(1)} MiB/s (core hasher, 64 KiB chunks); pull at ${(100 * browserRate / hashed).toFixed(1)} % of it`);
  console.log(`fetch read       ${read.toFixed(1)} MiB/s (the largest layer read to its end and dropped, same fetch path); read then hash one after the other: ${(1 / (1 / read + 1 / hashed)).toFixed(1)} MiB/s`);
  const part = (side, kind) => (memory.part(side, kind) / MiB).toFixed(1);
  console.log(`memory growth    page ${(memory.growth('page') / MiB).toFixed(1)} MiB, worker ${(memory.growth('worker') / MiB).toFixed(1)} MiB (peak over baseline of JS heap + ArrayBuffer/wasm backing stores)`);
  console.log(`                 worker JS heap ${part('worker', 'js')} MiB, backing stores ${part('worker', 'backing')} MiB; page JS heap ${part('page', 'js')} MiB, backing stores ${part('page', 'backing')} MiB`);
} finally {
  await close();
}
