// The dashboard as deep as bull-board and the etcd and Consul UIs, in a real Chromium against a
// real `rota up`: status tabs with counts that match GET /counts, an item's page with every
// attempt and its output, Retry on a task and "retry failed" on a job, failures in red on a job's
// bar, grouping that does not leak from one job to the next, the store's health, each worker's API,
// PID and lease (a crashed one's counting down, after a confirmation), and the event timeline.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshotViews } from '../helpers/browser.js';
import { tempDir, waitFor } from '../helpers/processes.js';
import { api, startRota, type RotaProcess } from '../helpers/rota-process.js';

describe('dashboard depth in Chromium', { timeout: 180_000 }, () => {
  let up: RotaProcess;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  const tmp = tempDir('dash-depth');
  before(async () => {
    up = await startRota(['up', '--memory', '--port', '0', '--workers', '2', '--ttl', '5']);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
  });
  afterEach(async (t) => {
    if ((t as unknown as { passed?: boolean }).passed === false) await screenshotViews(page, up.api!, `depth-${t.name.replace(/\W+/g, '-').slice(0, 50)}`);
  });
  after(async () => {
    await browser?.close();
    await up?.stop();
    tmp.remove();
  });

  const text = async (selector: string) => (await page.locator(selector).first().textContent()) ?? '';
  const job = async (spec: object) => (await api(up.api!, 'POST', '/jobs', JSON.stringify(spec), 'application/json')).body.id as string;
  const jobDone = (id: string) => waitFor(async () => (await api(up.api!, 'GET', `/jobs/${id}`)).body.finishedAt !== undefined, 20_000, `job ${id} done`);

  it('work tabs count items by status as GET /counts does, and a tab shows only its items', async () => {
    assert.equal((await api(up.api!, 'POST', '/work', 'a service')).status, 201);
    for (const [id, code] of [['ok-task', 0], ['bad-task', 3]] as const) {
      assert.equal((await api(up.api!, 'POST', '/work', JSON.stringify({ id, content: id, kind: 'task', command: ['sh', '-c', `echo attempt of ${id}; exit ${code}`], maxAttempts: 2, backoffMs: 50 }), 'application/json')).status, 201);
    }
    await waitFor(async () => (await api(up.api!, 'GET', '/work/bad-task')).body.status === 'failed', 15_000, 'bad-task failed');
    const counts = (await api(up.api!, 'GET', '/counts')).body;
    assert.equal(counts.task.failed, 1);
    assert.equal(counts.task.succeeded, 1);
    assert.equal(counts.service.running + counts.service.waiting, 1);
    await page.goto(`${up.api}/#work`);
    await waitFor(async () => (await text('[data-tab=failed] .count')) === '1', 5000, 'the failed tab to count 1');
    assert.equal(await text('[data-tab=all] .count'), String(counts.total));
    assert.equal(await text('[data-tab=succeeded] .count'), '1');
    await page.click('[data-tab=failed]');
    await waitFor(async () => (await page.locator('[data-testid=work] tbody tr').count()) === 1, 5000, 'one failed row');
    assert.equal(await page.locator('[data-testid=work] tbody tr').getAttribute('data-item'), 'bad-task');
    await page.selectOption('[data-testid=kind]', 'service');
    await waitFor(async () => (await page.locator('[data-testid=work] tbody tr').count()) === 0 && (await text('[data-tab=failed] .count')) === '0', 5000, 'no failed service');
    await page.selectOption('[data-testid=kind]', '');
    await page.click('[data-tab=all]');
  });

  it("an item's page lists every attempt with its output, and Retry runs it again", async () => {
    await page.goto(`${up.api}/#work/bad-task`);
    await waitFor(async () => (await page.locator('[data-testid=attempt]').count()) === 2, 5000, 'two attempts');
    const first = await text('[data-testid=attempt] >> nth=0');
    assert.match(first, /#1 failed \(exit 3\)/);
    assert.match(first, /attempt of bad-task/, 'the first attempt keeps its own output');
    assert.match(await text('[data-testid=item-status]'), /failed/);
    const before = (await api(up.api!, 'GET', '/work/bad-task/attempts')).body as Array<{ finishedAt: number }>;
    await page.click('[data-action=retry]');
    await waitFor(async () => {
      const now = (await api(up.api!, 'GET', '/work/bad-task/attempts')).body as Array<{ finishedAt: number }>;
      return now.length === 2 && now[0].finishedAt > before[1].finishedAt;
    }, 15_000, 'two new attempts after the retry');
    // A task that succeeded cannot be retried: 409 naming its status.
    const refused = await api(up.api!, 'POST', '/work/ok-task/retry');
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /status succeeded/);
  });

  it("a job's failures are red on its bar, and Retry failed runs them again", async () => {
    const marker = `${tmp.dir}/m`;
    const id = await job({ name: 'flaky', command: ['sh', '-c', `[ "$0" = 1 ] || [ -e "${marker}.$0" ] || { touch "${marker}.$0"; exit 1; }`, '{n}'], matrix: { n: [1, 2, 3] }, maxAttempts: 1 });
    await jobDone(id);
    await page.goto(`${up.api}/#jobs/${id}`);
    await waitFor(async () => (await page.locator(`[data-job="${id}"] .seg.failed`).count()) === 1, 5000, 'a red segment');
    const red = await page.locator(`[data-job="${id}"] .seg.failed`).evaluate((el) => (globalThis as any).getComputedStyle(el).backgroundColor as string);
    assert.equal(red, 'rgb(192, 57, 43)');
    assert.equal(await text(`[data-job="${id}"] [data-testid=job-badge]`), 'done, 2 failed');
    assert.match(await text(`[data-job="${id}"] [data-testid=job-time]`), /started .* took/);
    await page.click('[data-action=retry-failed]');
    await waitFor(async () => (await api(up.api!, 'GET', `/jobs/${id}`)).body.counts.succeeded === 3, 15_000, 'the two failed tasks to succeed on retry');
    await waitFor(async () => (await text(`[data-job="${id}"] [data-testid=job-badge]`)) === 'done', 5000, 'the badge to say done');
  });

  it('a grouping chosen on one job is not carried to the next', async () => {
    const a = await job({ name: 'by-browser', command: ['true', '{browser}'], matrix: { browser: ['x', 'y'] } });
    const b = await job({ name: 'by-n', command: ['true', '{n}'], matrix: { n: [1, 2] } });
    await Promise.all([jobDone(a), jobDone(b)]);
    await page.goto(`${up.api}/#jobs/${a}`);
    await page.locator('[data-testid=group-by]').waitFor();
    await page.selectOption('[data-testid=group-by]', 'browser');
    await waitFor(async () => /browser = x/.test(await text('#view')), 5000, 'grouped by browser');
    await page.goto(`${up.api}/#jobs/${b}`);
    await waitFor(async () => (await page.locator(`[data-job="${b}"]`).count()) === 1 && (await page.locator('[data-testid=results] tbody tr').count()) === 2, 5000, "b's rows");
    assert.doesNotMatch(await text('#view'), /browser = /);
    assert.equal(await page.locator('[data-testid=group-by]').inputValue(), '');
  });

  it("the fleet shows the store's health, each worker's API, PID and lease, and a crash asks first and counts the lease down", async () => {
    await page.goto(`${up.api}/#fleet`);
    await waitFor(async () => /store: embedded, in memory · revision \d+ · healthy/.test(await text('[data-testid=store]')), 5000, 'the store line');
    const workers = (await api(up.api!, 'GET', '/workers')).body as Array<{ id: string; pid: number }>;
    const victim = workers[1].id;
    assert.equal(await text(`[data-worker="${victim}"] [data-field=pid]`), String(workers[1].pid));
    assert.match(await text(`[data-worker="${victim}"] [data-testid=lease]`), /^\d\/5 s · beat \d s ago$/);
    dialogs.length = 0;
    await page.click(`[data-worker="${victim}"] [data-action=crash]`);
    assert.match(dialogs[0] ?? '', /^Crash worker .*\? It stops without releasing anything/);
    const lease = page.locator(`[data-worker="${victim}"] [data-testid=lease]`);
    await waitFor(async () => (await lease.count()) === 1 && /^lease expiring in \d s$/.test((await lease.textContent()) ?? ''), 6000, 'the lease counting down');
    await waitFor(async () => (await page.locator(`[data-worker="${victim}"]`).count()) === 0, 10_000, 'the crashed worker gone');
  });

  it('the timeline tells joins, grabs, releases, placements and leadership as they happen', async () => {
    await page.goto(`${up.api}/#fleet`);
    const added = (await api(up.api!, 'POST', '/workers')).body.id as string;
    await waitFor(async () => new RegExp(`worker ${added.slice(0, 8)}… joined`).test(await text('[data-testid=timeline]')), 5000, 'a join');
    const item = (await api(up.api!, 'POST', '/work', 'watched item')).body.id as string;
    await waitFor(async () => new RegExp(`${item.slice(0, 8)}… placed on`).test(await text('[data-testid=timeline]')), 5000, 'a placement');
    await waitFor(async () => new RegExp(`grabbed ${item.slice(0, 8)}…`).test(await text('[data-testid=timeline]')), 5000, 'a grab');
    assert.equal((await api(up.api!, 'DELETE', `/work/${item}`)).status, 204);
    await waitFor(async () => new RegExp(`${item.slice(0, 8)}… released`).test(await text('[data-testid=timeline]')), 5000, 'a release');
  });
});
