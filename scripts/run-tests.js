#!/usr/bin/env node
// Runs the whole jest suite (unit, integration, e2e) and ends with the one summary line CI reads:
// "Tests: N passed, N failed". Extra arguments go to jest (e.g. a path filter).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, '.pith', 'jest-results.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.rmSync(out, { force: true });

// Debian packages the e2e suites drive (nginx, curl): installed when missing, a no-op otherwise.
const deps = spawnSync('bash', [path.join(root, 'scripts', 'ensure-test-deps.sh')], { cwd: root, stdio: 'inherit' });
if (deps.status !== 0) process.stderr.write('warning: scripts/ensure-test-deps.sh failed; suites needing nginx/curl will fail\n');

const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const args = [jest, '--ci', '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });

let passed = 0;
let failed = 0;
let suitesFailed = 0;
try {
  const res = JSON.parse(fs.readFileSync(out, 'utf8'));
  passed = res.numPassedTests;
  failed = res.numFailedTests;
  // A suite that fails to load (syntax error, beforeAll crash) has no failed tests but is a failure.
  suitesFailed = res.testResults.filter((s) => s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed')).length;
} catch {
  failed = failed || 1;
}
if (suitesFailed) process.stdout.write(`${suitesFailed} test suite(s) failed to run\n`);
const total = failed + suitesFailed;
process.stdout.write(`Tests: ${passed} passed, ${total} failed\n`);
process.exit(r.status === 0 && total === 0 && passed > 0 ? 0 : 1);
