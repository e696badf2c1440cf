// A real Chromium (Debian's) driven by playwright-core, with screenshots kept when a test fails.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { root } from './rota-process.js';

export const artifacts = path.join(root, 'test', 'artifacts');

/** Launches headless Chromium with the flags this machine needs (no network, no sandbox as root). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Saves a screenshot of every dashboard view under test/artifacts/<name>-<view>.png. */
export async function screenshotViews(page: Page, base: string, name: string): Promise<void> {
  fs.mkdirSync(artifacts, { recursive: true });
  for (const view of ['fleet', 'work', 'jobs', 'runs']) {
    try {
      await page.goto(`${base}/#${view}`);
      await page.waitForTimeout(800);
      await page.screenshot({ path: path.join(artifacts, `${name}-${view}.png`), fullPage: true });
    } catch {
      // best effort: the test already failed
    }
  }
}
