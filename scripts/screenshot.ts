// npm run docs:screenshot — pictures of the dashboard for the README (docs/*.png), taken from a
// real `rota up` with some work, a finished matrix job, a task that failed twice, and a run.
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser } from '../test/helpers/browser.js';
import { api, root, startRota } from '../test/helpers/rota-process.js';

// Chart points every second (5 s as shipped), so a minute of activity fills the charts.
const up = await startRota(['up', '--memory', '--port', '0', '--workers', '3', '--ttl', '5'], { env: { ROTA_SERIES_MS: '1000' } });
const browser = await launchBrowser();
try {
  const base = up.api!;
  for (const c of ['testing=one', 'testing=two', 'testing=three', 'testing=four']) await api(base, 'POST', '/work', c, 'application/x-www-form-urlencoded');
  const job = (await api(base, 'POST', '/jobs', fs.readFileSync(path.join(root, 'examples/e2e.yaml'), 'utf8'), 'application/yaml')).body.id;
  const flaky = { id: 'nightly-report', content: 'nightly report', kind: 'task', command: ['sh', '-c', 'echo "fetching sales…"; echo "error: upstream timed out after 30s" >&2; exit 2'], maxAttempts: 2, backoffMs: 500 };
  await api(base, 'POST', '/work', JSON.stringify(flaky), 'application/json');
  await api(base, 'POST', '/runs', JSON.stringify({ id: 'run-1235', participants: { node1: [1, 2, 4], node2: [2] } }), 'application/json');
  await api(base, 'POST', '/runs/run-1235/complete', JSON.stringify({ node: 'node1', index: 1, state: 'init' }), 'application/json');
  for (;;) {
    const j = (await api(base, 'GET', `/jobs/${job}`)).body;
    if (j.done === j.total) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  // Some life for the charts: tasks at a varying rate, a worker added (items move), one crashed (a failover).
  const task = (i: number) => api(base, 'POST', '/work', JSON.stringify({ content: `charted ${i}`, kind: 'task', command: [process.execPath, '-e', ''] }), 'application/json');
  for (let s = 0; s < 40; s++) {
    await Promise.all(Array.from({ length: 3 + Math.round(4 * Math.abs(Math.sin(s / 6))) }, (_, i) => task(s * 10 + i)));
    if (s === 12) await api(base, 'POST', '/workers');
    if (s === 25) {
      const workers = (await api(base, 'GET', '/workers')).body as Array<{ id: string }>;
      await api(base, 'DELETE', `/workers/${workers[0].id}?crash=true`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const page = await browser.newPage({ viewport: { width: 1200, height: 620 } });
  await page.goto(`${base}/#work/nightly-report`);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: path.join(root, 'docs', 'dashboard-item.png'), fullPage: true });
  console.log('docs/dashboard-item.png');
  await page.goto(`${base}/#fleet`);
  await page.waitForTimeout(1500);
  await page.locator('[data-testid=charts]').screenshot({ path: path.join(root, 'docs', 'dashboard-charts.png') });
  console.log('docs/dashboard-charts.png');
  for (const [view, file] of [[`jobs/${job}`, 'dashboard.png'], ['work', 'dashboard-work.png']]) {
    await page.goto(`${base}/#${view}`);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: path.join(root, 'docs', file) });
    console.log(`docs/${file}`);
  }
  // The fleet with a worker just crashed: its lease counting down, the timeline below.
  await page.goto(`${base}/#fleet`);
  await page.waitForTimeout(1000);
  await api(base, 'POST', '/workers');
  for (const c of ['testing=five', 'testing=six']) await api(base, 'POST', '/work', c, 'application/x-www-form-urlencoded');
  await page.waitForTimeout(1000);
  const workers = (await api(base, 'GET', '/workers')).body as Array<{ id: string }>;
  await api(base, 'DELETE', `/workers/${workers[0].id}?crash=true`);
  await page.waitForTimeout(3600);
  await page.screenshot({ path: path.join(root, 'docs', 'dashboard-fleet.png'), fullPage: true });
  console.log('docs/dashboard-fleet.png');
} finally {
  await browser.close();
  await up.stop();
}
