#!/usr/bin/env node
// Runs every test file under test/ (Node 20's runner expands no globs: `node --test test/` runs
// zero tests and exits 0, so the files are listed here). Arguments filter files by substring.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);

function testFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...testFiles(p));
    else if (entry.name.endsWith('.test.ts')) out.push(path.relative(root, p));
  }
  return out.sort();
}

const files = testFiles(path.join(root, 'test')).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// The chaos run measures timing under faults it makes itself: it runs alone, after the rest.
const solo = files.filter((f) => path.basename(f) === 'chaos.test.ts');
const shared = files.filter((f) => !solo.includes(f));
console.log(`running ${files.length} test files:\n  ${files.join('\n  ')}`);
const run = (list, concurrency) =>
  list.length === 0
    ? 0
    : (spawnSync(process.execPath, ['--test', '--import', 'tsx', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...list], { cwd: root, stdio: 'inherit' }).status ?? 1);
const first = run(shared, process.env.ROTA_TEST_CONCURRENCY ?? 2);
const second = run(solo, 1);
process.exit(first || second);
