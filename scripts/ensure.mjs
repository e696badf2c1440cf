#!/usr/bin/env node
// Installs what a command needs on a fresh clone, then gets out of the way:
//   npm packages (npm ci when node_modules is missing or older than the lock file),
//   the build (--build), Debian packages for the servers tests and benchmarks use
//   (--etcd, --redis, --chromium, --openssl), via apt-get when the binary is missing.
// Plain Node with no dependencies, because it runs before anything is installed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));

function say(msg) {
  process.stderr.write(`ensure: ${msg}\n`);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed with ${r.status ?? r.signal}`);
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function onPath(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

function ensureNpmPackages() {
  const lock = path.join(root, 'package-lock.json');
  const installed = path.join(root, 'node_modules', '.package-lock.json');
  if (mtime(installed) >= mtime(lock) && mtime(installed) >= mtime(path.join(root, 'package.json'))) return;
  say('installing npm packages');
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
}

function newestUnder(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(p) : mtime(p));
  }
  return newest;
}

function ensureBuild() {
  const stamp = path.join(root, 'dist', '.built');
  const sources = Math.max(newestUnder(path.join(root, 'src')), mtime(path.join(root, 'tsconfig.json')));
  if (mtime(stamp) >= sources) return;
  say('building');
  run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  fs.writeFileSync(stamp, new Date().toISOString());
}

function ensureDebian(bin, packages) {
  if (onPath(bin)) return;
  say(`${bin} is missing: installing Debian packages ${packages.join(' ')}`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const apt = (...a) => run(sudo[0] ?? 'apt-get', sudo.length ? [...sudo.slice(1), 'apt-get', ...a] : a, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  try {
    apt('install', '-y', '-q', ...packages);
  } catch {
    apt('update', '-q');
    apt('install', '-y', '-q', ...packages);
  }
  if (!onPath(bin)) throw new Error(`${bin} is still missing after installing ${packages.join(' ')}`);
}

try {
  ensureNpmPackages();
  if (args.has('--build')) ensureBuild();
  if (args.has('--etcd')) ensureDebian('etcd', ['etcd-server', 'etcd-client']);
  if (args.has('--redis')) ensureDebian('redis-server', ['redis-server']);
  if (args.has('--chromium')) ensureDebian('chromium', ['chromium']);
  if (args.has('--openssl')) ensureDebian('openssl', ['openssl']);
} catch (err) {
  say(err.message);
  process.exit(1);
}
