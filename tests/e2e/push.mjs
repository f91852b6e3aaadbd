// Pushes small made-up images to a test-bed registry that needs no auth, for cases the
// fixtures do not cover: a second image sharing a layer, a layer of a chosen size.

import { createHash, randomBytes } from 'node:crypto';

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export async function pushBlob(host, repository, bytes) {
  const digest = sha256(bytes);
  const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
  const location = new URL(start.headers.get('location'), `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`upload ${digest}: ${put.status}`);
  return { digest, size: bytes.length };
}

/** Links a blob of another repository into `repository` (a cross-repository mount). */
export async function mountBlob(host, repository, from, digest) {
  const url = `http://${host}/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
  const res = await fetch(url, { method: 'POST' });
  if (res.status !== 201) throw new Error(`mount ${digest} from ${from}: ${res.status}`);
}

/**
 * Pushes `repository:tag` with the given layers (each `{digest, size, from}` mounted from the
 * repository `from`, or `{bytes}` to upload) and a config naming `label`; returns its digests.
 */
export async function pushImage(host, repository, tag, layers, label) {
  const descriptors = [];
  for (const layer of layers) {
    if (layer.from) await mountBlob(host, repository, layer.from, layer.digest);
    const d = layer.bytes ? await pushBlob(host, repository, layer.bytes) : layer;
    descriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d.digest, size: d.size });
  }
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Labels: { made_by: label } },
    rootfs: { type: 'layers', diff_ids: descriptors.map((d) => d.digest) },
  }));
  const configDesc = await pushBlob(host, repository, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configDesc }, layers: descriptors,
  }));
  const put = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (put.status !== 201) throw new Error(`manifest ${repository}:${tag}: ${put.status} ${await put.text()}`);
  return {
    manifest_digest: sha256(manifest), manifest_size: manifest.length, config_digest: configDesc.digest,
    config_size: configDesc.size, layers: descriptors,
    content_size: manifest.length + configDesc.size + descriptors.reduce((n, d) => n + d.size, 0),
  };
}

export const randomLayer = (size) => ({ bytes: randomBytes(size) });
