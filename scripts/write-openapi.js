#!/usr/bin/env node
'use strict';
/**
 * Writes docs/openapi.json, the committed OpenAPI document, from the built code: the same builder
 * that serves /pulp/api/v3/docs/api.json, for the plugins apps/core loads. No database or Redis is
 * needed (endpoint factories must not touch them while being listed).
 *
 *   npm run openapi                       build, then write docs/openapi.json
 *   node scripts/write-openapi.js --check exit 1 if docs/openapi.json is stale
 *   node scripts/write-openapi.js --out FILE
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 && args[outIndex + 1] ? path.resolve(args[outIndex + 1]) : path.join(root, 'docs', 'openapi.json');

function requireBuilt(rel) {
  const file = path.join(root, rel);
  if (!fs.existsSync(file)) {
    console.error(`${rel} is missing: run "npm run build" first (or "npm run openapi", which builds).`);
    process.exit(2);
  }
  return require(file);
}

const platform = requireBuilt('packages/platform/dist/index.js');
const { PLUGINS } = requireBuilt('apps/core/dist/plugins.js');

// Defaults only: the document must not depend on the environment of whoever runs this.
const p = platform.createOfflinePlatform(PLUGINS, platform.loadConfig({}));
const { document, problems } = platform.buildPlatformOpenApi(p);
if (problems.length) {
  console.error(`The OpenAPI document has ${problems.length} problem(s):`);
  for (const line of problems) console.error(`  ${line}`);
  process.exit(1);
}
const text = JSON.stringify(document, null, 2) + '\n';
const operations = Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0);

if (check) {
  const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (current !== text) {
    console.error(`${path.relative(root, out)} is out of date: run "npm run openapi".`);
    process.exit(1);
  }
  console.log(`${path.relative(root, out)} is up to date (${operations} operations).`);
} else {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, text);
  console.log(`wrote ${path.relative(root, out)}: ${operations} operations, components ${Object.keys(document.info['x-pulp-app-versions']).join(', ')}`);
}
