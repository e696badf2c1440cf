// The attacks in a real Chromium against a real `rota up` with a worker: a page of another
// origin posting a job with fetch(mode: 'no-cors', text/plain) — the "simple" request browsers send
// without a preflight — and a page reaching the node by DNS rebinding (a name of the attacker's that
// resolves to 127.0.0.1). Neither may create the job or run its command.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { tempDir } from '../helpers/processes.js';
import { api, startRota, type RotaProcess } from '../helpers/rota-process.js';

describe('browser attacks on rota up', { timeout: 60_000 }, () => {
  let up: RotaProcess;
  let browser: Browser;
  let attacker: http.Server;
  let attackerUrl: string;
  const tmp = tempDir('attack');
  const marker = path.join(tmp.dir, 'pwned.txt');
  const body = JSON.stringify({ name: 'p', command: ['sh', '-c', `id > ${marker}`], matrix: { x: ['1'] } });

  before(async () => {
    up = await startRota(['up', '--memory', '--port', '0', '--workers', '1', '--ttl', '2']);
    attacker = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>cute cats</title>'));
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}/`;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // rebind.test resolves to this machine, as an attacker's name does once its DNS answer changed.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP rebind.test 127.0.0.1'],
    });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    await up?.stop();
    tmp.remove();
  });

  const jobs = async () => (await api(up.api!, 'GET', '/jobs')).body as unknown[];

  it('a page of another origin cannot post a job (no-cors, text/plain)', async () => {
    const page = await browser.newPage();
    await page.goto(attackerUrl);
    const target = `${up.api}/jobs`;
    const outcome = await page.evaluate(
      async ([url, payload]) => {
        try {
          await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: payload });
          return 'sent';
        } catch (err) {
          return String(err);
        }
      },
      [target, body] as const,
    );
    assert.equal(outcome, 'sent', 'the browser sends a simple request without asking');
    // A form post (navigation) is another way a page sends text/plain without a preflight.
    await page.evaluate(
      ([url, payload]) => {
        const document = (globalThis as unknown as { document: any }).document; // runs in the page
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = url;
        form.enctype = 'text/plain';
        const input = document.createElement('input');
        input.name = payload.slice(0, -2);
        input.value = '"}';
        form.append(input);
        document.body.append(form);
        form.submit();
      },
      [target, body] as const,
    );
    await page.waitForLoadState('load');
    await new Promise((r) => setTimeout(r, 1500)); // a created job's task would have run by now
    assert.deepEqual(await jobs(), [], 'no job was created');
    assert.equal(fs.existsSync(marker), false, 'the command did not run');
    await page.close();
  });

  it('a page reaching the node by DNS rebinding is refused', async () => {
    const port = new URL(up.api!).port;
    const page = await browser.newPage();
    const res = await page.goto(`http://rebind.test:${port}/`);
    assert.equal(res?.status(), 403, 'the dashboard is not served under a foreign name');
    const status = await page.evaluate(
      async ([payload]) => (await fetch('/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload })).status,
      [body] as const,
    );
    assert.equal(status, 403, 'a same-origin request of the rebound page is refused by its Host');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await jobs(), []);
    assert.equal(fs.existsSync(marker), false);
    await page.close();
  });

  it("the node's own dashboard still adds work (same origin)", async () => {
    const page = await browser.newPage();
    await page.goto(`${up.api}/#work`);
    await page.fill('[data-testid=new-content]', 'from the dashboard');
    await page.click('[data-testid=add-item]');
    await page.locator('[data-testid=work] tbody tr', { hasText: 'from the dashboard' }).waitFor({ timeout: 5000 });
    const work = (await api(up.api!, 'GET', '/work')).body as Array<{ content: string }>;
    assert.ok(work.some((w) => w.content === 'from the dashboard'));
    await page.close();
  });
});
