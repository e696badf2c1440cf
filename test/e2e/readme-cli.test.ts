// The README's CLI synopsis against the commands themselves: every flag it shows exists (in the
// --help of the command or one of its subcommands), and every flag of `rota up` and `rota node`
// is shown, under that command or under "(both:)". A flag added or renamed without the README,
// or the other way round, fails here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { root, rotaBin } from '../helpers/rota-process.js';

/** `rota …args --help`, as printed. */
const help = (args: string[]) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [rotaBin, ...args, '--help'], { cwd: root });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });

const flags = (text: string) => new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]));

/** The synopsis block: each `rota X` line with its continuation lines, by X ("both" for the shared options). */
function synopsis(): Map<string, string> {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const block = /## CLI[\s\S]*?```text\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README has the CLI synopsis');
  const groups = new Map<string, string>();
  let current = '';
  for (const line of block[1].split('\n')) {
    const head = /^rota (\w+)/.exec(line)?.[1] ?? (/^\s+\(both:\)/.test(line) ? 'both' : undefined);
    if (head) current = head;
    groups.set(current, `${groups.get(current) ?? ''}\n${line}`);
  }
  return groups;
}

describe("the README's CLI synopsis", { timeout: 60_000 }, () => {
  it('shows only flags the commands take, and every flag of up and node', async () => {
    const groups = synopsis();
    const commands = [...groups.keys()].filter((c) => c !== 'both');
    assert.ok(commands.length >= 10, `commands in the synopsis: ${commands.join(', ')}`);
    // Each command's help, and its subcommands' (listed under "Commands:").
    const helpOf = new Map<string, string>();
    await Promise.all(
      commands.map(async (c) => {
        const top = await help([c]);
        const subs = [...(top.split('Commands:')[1] ?? '').matchAll(/^ {2}(\w[\w-]*)/gm)].map((m) => m[1]).filter((s) => s !== 'help');
        helpOf.set(c, [top, ...(await Promise.all(subs.map((s) => help([c, s]))))].join('\n'));
      }),
    );
    const shared = flags(groups.get('both') ?? '');
    for (const c of commands) {
      const shown = flags(groups.get(c)!);
      const taken = flags(helpOf.get(c)!);
      const extra = [...shown].filter((f) => !taken.has(f));
      assert.deepEqual(extra, [], `rota ${c}: the README shows flags it does not take`);
    }
    for (const f of shared) assert.ok(flags(helpOf.get('up')!).has(f) && flags(helpOf.get('node')!).has(f), `${f} is shown for both: up and node both take it`);
    for (const c of ['up', 'node']) {
      const taken = [...flags(helpOf.get(c)!)].filter((f) => f !== '--help');
      const shown = new Set([...flags(groups.get(c)!), ...shared]);
      assert.deepEqual(taken.filter((f) => !shown.has(f)), [], `rota ${c}: flags it takes that the README does not show`);
    }
  });
});
