// End-to-end: the built app served by the test bed's nginx, the three real registries behind
// their CORS fronts on other ports, Debian's Chromium. Every digest and size the page shows is
// compared with the fixture values, which the test bed checked against skopeo.
//
//   tests/e2e/build.sh && node --test tests/e2e/

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DESKTOP, PHONE, attr, choosePlatform, fillCredentials, inspect, inspectUrl, launch, openLink, openPage,
  screenshot, startTestbed, text, texts,
} from './harness.mjs';

let state;
let browser;

before(async () => {
  state = startTestbed();
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

const fixture = (key) => {
  const f = state.fixtures[key];
  assert.ok(f, `fixture ${key} missing from state.json`);
  return f;
};

/** The page's ImageStatus and layers against a fixture; `index` when the reference names one. */
async function assertImage(page, host, reference, image, index) {
  const top = index ?? image;
  assert.equal(await attr(page, 'image-id', 'data-id'), image.config_digest, 'IMAGE ID is the config digest');
  assert.equal(await text(page, 'manifest-digest'), top.manifest_digest);
  assert.equal(await text(page, 'media-type'), top.media_type);
  const name = `${host}/${reference.repository}`;
  assert.deepEqual(await texts(page, '[data-testid="repo-digests"] li'), [`${name}@${top.manifest_digest}`]);
  assert.deepEqual(await texts(page, '[data-testid="repo-tags"] li'), [`${name}:${reference.tag}`]);
  const size = image.content_size + (index ? index.manifest_size : 0);
  assert.equal(Number(await attr(page, 'image-size', 'data-bytes')), size, 'size as containerd counts it');
  const rows = await page.$$eval('[data-testid="layer-row"]', (els) => els.map((e) => ({ digest: e.dataset.digest, size: Number(e.dataset.bytes) })));
  assert.deepEqual(rows, image.layers.map((l) => ({ digest: l.digest, size: l.size })));
  if (index) {
    assert.equal(await text(page, 'platform-manifest-digest'), image.manifest_digest);
  }
}

function registryRequests(requests, host) {
  return requests.filter((r) => r.url.includes(`//${host}/`));
}

describe('inspecting a public image', () => {
  test('typing shows the parsed reference with the default tag', async () => {
    const { context, page } = await openPage(browser);
    try {
      await page.goto(state.app_origin + '/');
      const host = state.registries.anon.cors;
      await page.fill('[data-testid="ref-input"]', `${host}/public/hello`);
      assert.equal(await text(page, 'canonical-ref'), `${host}/public/hello:latest`);
      assert.equal(await text(page, 'default-tag'), 'Using default tag: latest');
      await page.fill('[data-testid="ref-input"]', 'Invalid/Name');
      assert.match(await text(page, 'ref-error'), /must be lowercase/);
      await screenshot(page, 'start-light-desktop');
    } finally {
      await context.close();
    }
  });

  test('public/hello:1.0 on the anonymous registry, with crane\'s request count', async () => {
    const { context, page, requests, consoleErrors } = await openPage(browser);
    try {
      const host = state.registries.anon.cors;
      const hello = fixture('public/hello:1.0');
      await openLink(page, inspectUrl(state, `${host}/public/hello:1.0`));
      await assertImage(page, host, hello, hello);
      // manifest and config: an anonymous registry needs no challenge or token.
      assert.equal(registryRequests(requests, host).length, 2, JSON.stringify(requests));
      const history = await texts(page, '[data-testid="history-step"]');
      assert.ok(history.some((h) => h.includes('empty layer')), 'empty layers are marked');
      assert.deepEqual(consoleErrors, []);
      await screenshot(page, 'hello-light-desktop');
    } finally {
      await context.close();
    }
  });

  test('through token auth: challenge, token, manifest, config, and no token again', async () => {
    const { context, page, requests } = await openPage(browser);
    try {
      const host = state.registries.token.cors;
      const hello = fixture('public/hello:1.0');
      await openLink(page, inspectUrl(state, `${host}/public/hello:1.0`));
      await assertImage(page, host, hello, hello);
      const tokenHost = new URL(state.token_server.cors).host;
      assert.equal(registryRequests(requests, host).length, 3, 'challenge, manifest, config');
      assert.equal(registryRequests(requests, tokenHost).length, 1, 'one token');
      await inspect(page, `${host}/public/hello:1.0`);
      assert.equal(registryRequests(requests, tokenHost).length, 1, 'the cached token is reused');
      assert.equal(registryRequests(requests, host).length, 5, 'manifest and config only');
    } finally {
      await context.close();
    }
  });
});

describe('tags and referrers', () => {
  test('lists the repository\'s tags and finds the SBOM through the tag-schema fallback', async () => {
    const { context, page } = await openPage(browser);
    try {
      const host = state.registries.token.cors;
      const hello = fixture('public/hello:1.0');
      const sbom = fixture('public/artifact:sbom');
      await openLink(page, inspectUrl(state, `${host}/public/hello:1.0`));
      await page.click('[data-testid="tags-button"]');
      await page.waitForSelector('[data-testid="tag-list"]');
      const tags = await texts(page, '[data-testid="tag"]');
      for (const tag of hello.tags) assert.ok(tags.includes(tag), `${tag} in ${tags}`);
      await page.click('[data-testid="referrers-button"]');
      await page.waitForSelector('[data-testid="referrer-list"]');
      const referrers = await page.$$eval('[data-testid="referrer"]', (els) => els.map((e) => e.dataset.digest));
      assert.deepEqual(referrers, [sbom.manifest_digest]);
      assert.match(await page.textContent('[data-testid="referrer-list"]'), /spdx/);
    } finally {
      await context.close();
    }
  });
});

describe('multi-platform index', () => {
  test('lists every platform, marks the attestation, and switches with one click', async () => {
    const { context, page } = await openPage(browser);
    try {
      const host = state.registries.anon.cors;
      const multi = fixture('public/multi:v1');
      await openLink(page, inspectUrl(state, `${host}/public/multi:v1`));
      const options = await page.$$eval('[data-testid="platform-option"]', (els) => els.map((e) => ({
        platform: e.dataset.platform, digest: e.dataset.digest, disabled: e.disabled,
      })));
      assert.deepEqual(options.map((o) => o.platform), ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7', 'unknown/unknown']);
      assert.deepEqual(options.slice(0, 3).map((o) => o.digest), multi.platforms.map((p) => p.manifest_digest));
      assert.equal(options[3].digest, multi.attestations[0].digest);
      assert.equal(options[3].disabled, true, 'attestations are not images to switch to');
      await assertImage(page, host, multi, multi.platforms[0], multi);
      await screenshot(page, 'multi-light-desktop');

      await choosePlatform(page, 'linux/arm64/v8');
      await assertImage(page, host, multi, multi.platforms[1], multi);
      assert.match(page.url(), /platform=linux\/arm64\/v8/);
      assert.equal(await text(page, 'config-platform'), 'linux/arm64/v8');
    } finally {
      await context.close();
    }
  });

  test('a deep link picks the platform', async () => {
    const { context, page } = await openPage(browser);
    try {
      const host = state.registries.anon.cors;
      const multi = fixture('public/multi:v1');
      await openLink(page, inspectUrl(state, `${host}/public/multi:v1`, 'linux/arm/v7'));
      await assertImage(page, host, multi, multi.platforms[2], multi);
    } finally {
      await context.close();
    }
  });
});

describe('private images with each form of credentials', () => {
  const secretRef = (registry) => `${state.registries[registry].cors}/private/secret:1.0`;
  const b64 = (s) => Buffer.from(s).toString('base64');

  async function expectSecret(page, registry) {
    const secret = fixture('private/secret:1.0');
    await inspect(page, secretRef(registry));
    const error = await page.$('[data-testid="error"]');
    assert.equal(error, null, error ? await error.textContent() : '');
    await assertImage(page, state.registries[registry].cors, secret, secret);
  }

  const forms = {
    'basic: username + password': ['basic', 'password', () => ({ 'cred-username': state.users.basic.username, 'cred-password': state.users.basic.password })],
    'basic: auth string': ['basic', 'auth', () => ({ 'cred-auth': b64(`${state.users.basic.username}:${state.users.basic.password}`) })],
    'token: username + password': ['token', 'password', () => ({ 'cred-username': state.users.token.username, 'cred-password': state.users.token.password })],
    'token: identity token': ['token', 'identity-token', () => ({ 'cred-identity-token': state.users.token.identity_token })],
    'basic: pasted config.json': ['basic', 'paste', () => ({
      'cred-paste': JSON.stringify({ auths: { [state.registries.basic.cors]: { auth: b64(`${state.users.basic.username}:${state.users.basic.password}`) } } }, null, 2),
    })],
  };
  for (const [name, [registry, kind, fields]] of Object.entries(forms)) {
    test(name, async () => {
      const { context, page } = await openPage(browser);
      try {
        await page.goto(state.app_origin + '/');
        await fillCredentials(page, kind, fields());
        await expectSecret(page, registry);
      } finally {
        await context.close();
      }
    });
  }

  test('token: registry token', async () => {
    const { username, password } = state.users.token;
    const url = `${state.token_server.direct}?service=${encodeURIComponent(state.token_server.service)}&scope=${encodeURIComponent('repository:private/secret:pull')}`;
    const response = await fetch(url, { headers: { Authorization: `Basic ${b64(`${username}:${password}`)}` } });
    const body = await response.json();
    const { context, page } = await openPage(browser);
    try {
      await page.goto(state.app_origin + '/');
      await fillCredentials(page, 'registry-token', { 'cred-registry-token': body.token ?? body.access_token });
      await expectSecret(page, 'token');
    } finally {
      await context.close();
    }
  });

  test('token: a pasted Kubernetes Secret, with the matching entry explained', async () => {
    const host = state.registries.token.cors;
    const { username, password } = state.users.token;
    const dockerconfig = { auths: {
      'other.example.com': { auth: b64('bob:nope') },
      [host]: { username, password, auth: b64(`${username}:${password}`) },
    } };
    const secret = [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  name: regcred',
      'type: kubernetes.io/dockerconfigjson',
      'data:',
      `  .dockerconfigjson: ${b64(JSON.stringify(dockerconfig))}`,
      '',
    ].join('\n');
    const { context, page } = await openPage(browser);
    try {
      await page.goto(state.app_origin + '/');
      await page.fill('[data-testid="ref-input"]', secretRef('token'));
      await fillCredentials(page, 'paste', { 'cred-paste': secret });
      // The worker reads the pasted file; the explanation appears once it has.
      await page.waitForSelector('[data-testid="paste-report"]');
      const used = await texts(page, '[data-testid="paste-match"]');
      assert.equal(used.length, 1, used.join('\n'));
      assert.ok(used[0].includes(host), used[0]);
      const unused = await texts(page, '[data-testid="paste-rejected"]');
      assert.ok(unused.some((u) => u.includes('other.example.com')), unused.join('\n'));
      await screenshot(page, 'secret-paste-light-desktop');
      await expectSecret(page, 'token');
      assert.match(await text(page, 'credential-note'), /regcred/);
    } finally {
      await context.close();
    }
  });
});

describe('failures in plain words', () => {
  for (const registry of ['basic', 'token']) {
    test(`${registry}: a wrong password is UNAUTHORIZED`, async () => {
      const { context, page } = await openPage(browser);
      try {
        await page.goto(state.app_origin + '/');
        await fillCredentials(page, 'password', { 'cred-username': state.users[registry].username, 'cred-password': 'wrong-password' });
        await inspect(page, `${state.registries[registry].cors}/private/secret:1.0`);
        assert.equal(await attr(page, 'error', 'data-code'), 'UNAUTHORIZED');
        assert.ok(['registry', 'auth'].includes(await attr(page, 'error', 'data-kind')));
        if (registry === 'token') await screenshot(page, 'unauthorized-light-desktop');
      } finally {
        await context.close();
      }
    });
  }

  test('a missing tag is "not present", not an error', async () => {
    const { context, page } = await openPage(browser);
    try {
      await openLink(page, inspectUrl(state, `${state.registries.anon.cors}/public/hello:no-such-tag`));
      assert.match(await text(page, 'image-absent'), /not present/i);
      assert.equal(await page.$('[data-testid="error"]'), null);
    } finally {
      await context.close();
    }
  });

  test('a registry without CORS headers gets the diagnosis', async () => {
    const { context, page } = await openPage(browser);
    try {
      await openLink(page, inspectUrl(state, `${state.registries.basic.nocors}/private/secret:1.0`));
      assert.equal(await attr(page, 'error', 'data-kind'), 'cors');
      const diagnosis = await text(page, 'cors-diagnosis');
      assert.match(diagnosis, /Access-Control-Allow-Origin/);
      assert.match(diagnosis, /imagescope serve/);
      assert.match(diagnosis, /OPTIONS/);
      await screenshot(page, 'cors-light-desktop');
    } finally {
      await context.close();
    }
  });
});

describe('screenshots of the main views', () => {
  const views = {
    hello: () => inspectUrl(state, `${state.registries.anon.cors}/public/hello:1.0`),
    multi: () => inspectUrl(state, `${state.registries.anon.cors}/public/multi:v1`, 'linux/arm64/v8'),
    cors: () => inspectUrl(state, `${state.registries.basic.nocors}/private/secret:1.0`),
  };
  for (const [scheme, viewport, label] of [['dark', DESKTOP, 'desktop'], ['light', PHONE, 'phone'], ['dark', PHONE, 'phone']]) {
    test(`${scheme} ${label}`, async () => {
      const { context, page } = await openPage(browser, { viewport, colorScheme: scheme });
      try {
        for (const [name, url] of Object.entries(views)) {
          await openLink(page, url());
          await screenshot(page, `${name}-${scheme}-${label}`);
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
          assert.equal(overflow, false, `${name}: no horizontal scrolling`);
          await page.goto('about:blank');
        }
      } finally {
        await context.close();
      }
    });
  }
});
