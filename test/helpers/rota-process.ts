// Real `rota` processes for end-to-end tests (the built CLI, as users run it).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnTracked, stopChild, waitFor } from './processes.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const rotaBin = path.join(root, 'bin', 'rota.js');

export interface RotaProcess {
  child: ChildProcess;
  /** The worker id (or node id without a worker). */
  id: string;
  /** The API URL, when it serves one. */
  api?: string;
  /** Every log line so far. */
  lines: string[];
  /** Resolves with the first line matching `re` from line number `since` on (default: from now on). */
  waitForLine(re: RegExp, timeoutMs?: number, since?: number): Promise<string>;
  /** SIGTERM and wait (clean shutdown). */
  stop(): Promise<void>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** Starts `rota <args>` and waits until it serves its API (or registers its worker). */
export async function startRota(args: string[], options: { env?: NodeJS.ProcessEnv; expectWorker?: boolean; detached?: boolean } = {}): Promise<RotaProcess> {
  const child = spawnTracked(process.execPath, [rotaBin, ...args], {
    cwd: root,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // In a process group of its own, as a shell's job is: the test can kill the group (kill -- -PGID).
    detached: options.detached,
  });
  const lines: string[] = [];
  const waiters = new Set<{ re: RegExp; resolve: (l: string) => void }>();
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (process.env.ROTA_TEST_VERBOSE) console.log(`[${child.pid}] ${line}`);
      for (const w of waiters) {
        if (w.re.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    });
  }
  const waitForLine = (re: RegExp, timeoutMs = 10_000, since = lines.length) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.slice(since).find((l) => re.test(l));
      if (seen !== undefined) return resolve(seen);
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`no line matching ${re} within ${timeoutMs} ms; last lines:\n${lines.slice(-15).join('\n')}`));
      }, timeoutMs);
      const w = { re, resolve: (l: string) => (clearTimeout(timer), resolve(l)) };
      waiters.add(w);
    });
  const proc: RotaProcess = {
    child,
    id: '',
    lines,
    waitForLine,
    stop: () => stopChild(child, 10_000),
    kill: async () => {
      child.kill('SIGKILL');
      await stopChild(child);
    },
  };
  try {
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`rota exited with ${code}:\n${lines.join('\n')}`))));
    const ready = (async () => {
      if (!args.includes('--no-api')) proc.api = (await waitForLine(/API listening on ([^\s"]+)/, 20_000)).match(/API listening on ([^\s"]+)/)![1];
      if (options.expectWorker !== false && !args.includes('--no-worker')) {
        proc.id = (await waitFor(() => lines.find((l) => /We are worker=/.test(l)), 20_000, 'the worker to register')).match(/We are worker=([^\s"]+)/)![1];
      }
    })();
    await Promise.race([ready, exited]);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return proc;
}

/** JSON over HTTP to a rota API; returns status and parsed body. */
export async function api(base: string, method: string, p: string, body?: string, type = 'text/plain'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${p}`, { method, body, headers: body === undefined ? {} : { 'content-type': type } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
