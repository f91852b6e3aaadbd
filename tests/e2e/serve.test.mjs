// End-to-end: the built app served by `imagescope serve`, whose same-origin proxy reaches
// registries that send no CORS headers. The page first tries the registry directly, is blocked
// by the browser, then retries through the proxy and says so.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { DIST, ROOT, attr, fillCredentials, inspect, launch, openPage, screenshot, startTestbed, text, texts } from './harness.mjs';

const BINARY = process.env.IMAGESCOPE_BIN
  ?? [path.join(ROOT, 'target/debug/imagescope'), path.join(ROOT, 'target/release/imagescope')].find(existsSync);

let state;
let browser;
let server;
let origin;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts `imagescope serve` and resolves once it prints its ready line. */
async function startServe() {
  assert.ok(BINARY, 'build the command first: cargo build -p imagescope');
  const port = await freePort();
  const child = spawn(BINARY, ['serve', '--listen', `127.0.0.1:${port}`, '--dist', DIST, '--allow-loopback'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  child.stderr.on('data', (d) => log.push(String(d)));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`imagescope serve did not start: ${log.join('')}`)), 15000);
    child.stdout.on('data', (d) => {
      if (String(d).includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`imagescope serve exited ${code}: ${log.join('')}`)));
  });
  return { child, origin: `http://127.0.0.1:${port}`, log };
}

before(async () => {
  state = startTestbed();
  browser = await launch();
  server = await startServe();
  origin = server.origin;
});

after(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
});

describe('the app served by imagescope serve', () => {
  test('detects the proxy and inspects a registry without CORS headers through it', async () => {
    const { context, page, requests } = await openPage(browser);
    try {
      await page.goto(`${origin}/`);
      const secret = state.fixtures['private/secret:1.0'];
      const host = state.registries.basic.nocors;
      await fillCredentials(page, 'password', { 'cred-username': state.users.basic.username, 'cred-password': state.users.basic.password });
      await inspect(page, `${host}/private/secret:1.0`);
      assert.equal(await page.$('[data-testid="error"]'), null, 'no error once the proxy is used');
      assert.equal(await attr(page, 'image-id', 'data-id'), secret.config_digest);
      assert.equal(await text(page, 'manifest-digest'), secret.manifest_digest);
      assert.equal(Number(await attr(page, 'image-size', 'data-bytes')), secret.content_size);
      assert.deepEqual(await texts(page, '[data-testid="repo-digests"] li'), [`${host}/private/secret@${secret.manifest_digest}`]);
      assert.match(await text(page, 'proxy-notice'), /proxy/i, 'the page says it went through the proxy');
      const proxied = requests.filter((r) => r.url.startsWith(`${origin}/proxy/http/${host}/v2/`));
      assert.ok(proxied.length >= 2, `registry requests went through the proxy: ${JSON.stringify(requests)}`);
      assert.ok(server.log.every((line) => !line.includes(state.users.basic.password)), 'the proxy never logs the password');
      await screenshot(page, 'serve-proxy-light-desktop');
    } finally {
      await context.close();
    }
  });

  test('the token flow works through the proxy, realm included', async () => {
    const { context, page, requests } = await openPage(browser);
    try {
      await page.goto(`${origin}/`);
      const secret = state.fixtures['private/secret:1.0'];
      await fillCredentials(page, 'password', { 'cred-username': state.users.token.username, 'cred-password': state.users.token.password });
      // The direct address of the token registry sends no CORS headers: only the proxy can reach it.
      await inspect(page, `${state.registries.token.direct}/private/secret:1.0`);
      assert.equal(await page.$('[data-testid="error"]'), null);
      assert.equal(await attr(page, 'image-id', 'data-id'), secret.config_digest);
      assert.ok(requests.some((r) => r.url.startsWith(`${origin}/proxy/`) && r.url.includes('/token')), 'the token request went through the proxy');
    } finally {
      await context.close();
    }
  });
});
