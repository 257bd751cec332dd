#!/usr/bin/env node
// `npm test`: the whole suite across packages, through turbo, against real services.
// Starts a private Redis for the run (installing redis-server when missing and running as root),
// makes sure Chromium is there for the dashboard's browser test, and prints one closing line
// `N passed, N failed` summed from every package's vitest JSON report.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DATA, ROOT, color, ensureDebianPackages, ensureNodeModules, ensureRedisInstalled, fail, freePort, isRoot, startRedis, step, stopChild, which } from './lib/proc.mjs';

ensureNodeModules();
ensureRedisInstalled();
if (!fs.existsSync('/usr/bin/chromium')) {
  if (isRoot() && which('apt-get')) ensureDebianPackages(['chromium', 'fonts-noto-cjk'], 'the dashboard browser test');
  else console.warn(color.yellow('! /usr/bin/chromium is missing: the dashboard browser test will be skipped (sudo apt-get install -y chromium fonts-noto-cjk)'));
}

const resultsDir = path.join(DATA, 'test-results');
fs.rmSync(resultsDir, { recursive: true, force: true });
fs.mkdirSync(resultsDir, { recursive: true });

const port = await freePort();
const redis = await startRedis({ port, dir: path.join(DATA, 'test-redis') });
step(`test Redis on ${redis.url}`);
// fail() exits at once (a failed build): the test Redis must not outlive this script.
process.on('exit', () => {
  if (redis.child.exitCode === null && redis.child.signalCode === null) redis.child.kill('SIGTERM');
});

let status = 1;
try {
  const turbo = path.join(ROOT, 'node_modules', '.bin', 'turbo');
  const env = { ...process.env, JG_TEST_REDIS_URL: redis.url, FORCE_COLOR: process.env.FORCE_COLOR ?? (process.stdout.isTTY ? '1' : '0') };
  const build = spawnSync(turbo, ['run', 'build', '--env-mode=loose'], { stdio: 'inherit', cwd: ROOT, env });
  if (build.status !== 0) fail('build failed');
  // One package at a time: the suites start real hubs, chDB engines and Chromium; inside a
  // package two or three test files run at once (its vitest.config.ts), which two cores carry,
  // not eight.
  const test = spawnSync(turbo, ['run', 'test', '--env-mode=loose', '--concurrency=1', '--continue'], { stdio: 'inherit', cwd: ROOT, env });
  status = test.status ?? 1;
} finally {
  await stopChild(redis.child);
}

let passed = 0;
let failed = 0;
let skipped = 0;
const packages = ['rules', 'collector', 'hub', 'dashboard'];
const failures = [];

/** `pkg file › test: first line of the message` for every failed test or file of a vitest JSON report. */
function failedTests(pkg, report) {
  const out = [];
  for (const file of report.testResults ?? []) {
    const rel = path.relative(path.join(ROOT, pkg), file.name ?? '');
    const failedHere = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failedHere) {
      const message = String(a.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 200);
      out.push(`${pkg} ${rel} › ${a.fullName ?? a.title}: ${message}`);
    }
    if (failedHere.length === 0 && file.status === 'failed') {
      out.push(`${pkg} ${rel}: ${String(file.message ?? '').split('\n')[0].slice(0, 200)}`);
    }
  }
  return out;
}
for (const pkg of packages) {
  const file = path.join(resultsDir, `${pkg}.json`);
  if (!fs.existsSync(file)) {
    console.error(color.red(`no test report from ${pkg} (${file})`));
    failed += 1;
    status = status || 1;
    continue;
  }
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`  ${pkg.padEnd(10)} ${r.numPassedTests ?? 0} passed, ${r.numFailedTests ?? 0} failed${r.numPendingTests ? `, ${r.numPendingTests} skipped` : ''}`);
  failures.push(...failedTests(pkg, r));
}
// The failed tests by name, with the start of their message: a run read only from its tail (a CI
// log cut to its last lines) still says what failed.
for (const f of failures) console.log(color.red(`  ✗ ${f}`));
if (failed > 0 && status === 0) status = 1;
const summary = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
fs.writeFileSync(path.join(resultsDir, 'summary.txt'), [...failures.map((f) => `  ✗ ${f}`), summary].join('\n') + '\n');
console.log(summary);
process.exit(status);
