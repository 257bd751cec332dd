#!/usr/bin/env node
/**
 * Builds the collector as ONE executable file (Node single executable application, SEA) for
 * counter PCs that should not carry a node_modules tree:
 *
 *   npm run build -w collector            # tsc → collector/dist
 *   node collector/scripts/build-sea.mjs  # → collector/build/sea/jianguan-collector[.exe]
 *
 * Steps: (1) bundle dist/main.js and everything it imports (rules, hub/protocol, zod,
 * socket.io-client) into one CommonJS file with rolldown (a development dependency of this
 * package; esbuild is not used); (2) `node --experimental-sea-config` turns it into a blob;
 * (3) a copy of this node binary gets the blob injected with postject (fetched from npm by npx,
 * pinned; nothing is added to the lockfile); (4) the result is smoke-tested (`--help`).
 * The executable runs on the same OS and architecture as the node that built it: build the
 * Windows .exe on Windows (same script). Not part of the test suite.
 *
 * Options: --skip-inject (stop after the bundle and the blob), --out DIR.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const POSTJECT = 'postject@1.0.0-alpha.6';
const OPTIONAL = ['bufferutil', 'utf-8-validate', 'supports-color'];
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const args = process.argv.slice(2);
const skipInject = args.includes('--skip-inject');
const outIdx = args.indexOf('--out');
const OUT = path.resolve(outIdx >= 0 ? args[outIdx + 1] : path.join(ROOT, 'build', 'sea'));
const MAIN = path.join(ROOT, 'dist', 'main.js');

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 0)) throw new Error(`Node ${process.versions.node}: single executable applications need Node >= 20`);
if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build -w collector\` first`);
fs.mkdirSync(OUT, { recursive: true });

// 1. Bundle into one CommonJS file.
const { rolldown } = await import('rolldown');
const bundleFile = path.join(OUT, 'jianguan-collector.cjs');
const bundle = await rolldown({
  input: MAIN,
  platform: 'node',
  plugins: [
    {
      // Optional helpers required in try/catch (ws: bufferutil, utf-8-validate; debug:
      // supports-color): bundled as a module that throws,
      // so ws falls back to JS (an external require would warn in a SEA).
      name: 'optional-native-stub',
      resolveId: (id) => (OPTIONAL.includes(id) ? `\0optional:${id}` : null),
      load: (id) => (id.startsWith('\0optional:') ? `throw new Error('${'optional native module not bundled'}');` : null),
    },
  ],
  logLevel: 'warn',
});
await bundle.write({ file: bundleFile, format: 'cjs', inlineDynamicImports: true, sourcemap: false });
await bundle.close();
// A SEA main script is compiled as CommonJS: drop the shebang line.
const code = fs.readFileSync(bundleFile, 'utf8').replace(/^#!.*\n/, '');
fs.writeFileSync(bundleFile, code);
console.log(`bundle  ${path.relative(process.cwd(), bundleFile)} (${(code.length / 1024).toFixed(0)} KiB)`);
// The bundle must run as plain node first.
execFileSync(process.execPath, [bundleFile, '--help'], { stdio: 'pipe' });

// 2. The SEA blob.
const blob = path.join(OUT, 'sea-prep.blob');
const seaConfig = path.join(OUT, 'sea-config.json');
fs.writeFileSync(seaConfig, JSON.stringify({ main: bundleFile, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }, null, 2));
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });
console.log(`blob    ${path.relative(process.cwd(), blob)}`);
if (skipInject) process.exit(0);

// 3. A copy of node with the blob injected.
const exe = path.join(OUT, process.platform === 'win32' ? 'jianguan-collector.exe' : 'jianguan-collector');
fs.copyFileSync(process.execPath, exe);
fs.chmodSync(exe, 0o755);
if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', exe], { stdio: 'inherit' });
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const inject = [POSTJECT, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE, ...(process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [])];
execFileSync(npx, ['--yes', ...inject], { stdio: 'inherit', shell: process.platform === 'win32' });
if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', exe], { stdio: 'inherit' });

// 4. Smoke test.
const help = execFileSync(exe, ['--help'], { encoding: 'utf8' });
if (!help.includes('jianguan-collector')) throw new Error(`the executable did not print its usage:\n${help}`);
console.log(`exe     ${path.relative(process.cwd(), exe)} (${(fs.statSync(exe).size / 1024 / 1024).toFixed(1)} MiB) — runs: ${help.split('\n')[0]}`);
