// Trunk's post_build hook for release builds: minifies the wasm-bindgen glue (trunk's own
// minifier stops at its `export default` and ships it as written) and re-signs it in
// index.html, whose integrity attributes trunk computed before this step.
//
//   TRUNK_PROFILE=release TRUNK_STAGING_DIR=… node tools/minify.mjs

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

if (process.env.TRUNK_PROFILE !== 'release') process.exit(0);
const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) throw new Error('minify: TRUNK_STAGING_DIR is not set; run this as a trunk hook');

const require = createRequire(import.meta.url);
const { minify } = require('terser');

function glueFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return glueFiles(full);
    // The hand-written boot.js files are tiny; only the generated glue is worth it.
    return e.name.endsWith('.js') && e.name !== 'boot.js' ? [full] : [];
  });
}

const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
const indexPath = path.join(staging, 'index.html');
let index = readFileSync(indexPath, 'utf8');
for (const file of glueFiles(staging)) {
  const source = readFileSync(file);
  const text = source.toString('utf8');
  // The page's glue is an ES module; the worker's is a classic script whose top-level
  // `wasm_bindgen` must keep its name.
  const module = /^export /m.test(text);
  const { code } = await minify(text, { module, compress: true, mangle: true });
  writeFileSync(file, code);
  index = index.replaceAll(sri(source), sri(Buffer.from(code)));
  console.log(`minify: ${path.relative(staging, file)} ${source.length} -> ${code.length} bytes`);
}
writeFileSync(indexPath, index);
