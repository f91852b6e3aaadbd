// Memory figures through the DevTools protocol, for the benchmark scripts: the JS heap and the
// ArrayBuffer/wasm backing stores of the page and of the store worker.

/** Talks to the store worker's DevTools target through the browser session (old non-flat mode). */
export async function workerSession(browser) {
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'worker' && t.url.includes('/worker/boot.js'));
  if (!target) throw new Error('the store worker is not running');
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
  let next = 1;
  const pending = new Map();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== sessionId) return;
    const message = JSON.parse(e.message);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  return {
    send: (method, params = {}) => new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, (m) => (m.error ? reject(new Error(m.error.message)) : resolve(m.result)));
      cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
    }),
  };
}

export async function heap(session) {
  const usage = await session.send('Runtime.getHeapUsage');
  return { js: usage.usedSize, backing: usage.backingStorageSize ?? 0 };
}

/**
 * Peaks of the page's and the worker's memory over a baseline taken after a garbage collection;
 * `sample()` while the work runs, `growth(side)` after (JS heap plus backing stores, in bytes).
 */
export async function memoryWatch(pageSession, workerCdp) {
  await pageSession.send('HeapProfiler.collectGarbage');
  await workerCdp.send('HeapProfiler.collectGarbage');
  const base = { page: await heap(pageSession), worker: await heap(workerCdp) };
  const peak = { page: base.page, worker: base.worker };
  return {
    async sample() {
      const now = { page: await heap(pageSession), worker: await heap(workerCdp) };
      for (const side of ['page', 'worker']) {
        peak[side] = { js: Math.max(peak[side].js, now[side].js), backing: Math.max(peak[side].backing, now[side].backing) };
      }
    },
    growth: (side) => (peak[side].js - base[side].js) + (peak[side].backing - base[side].backing),
    part: (side, kind) => peak[side][kind] - base[side][kind],
  };
}
