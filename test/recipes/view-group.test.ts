// Views fed as a group show one revision: whatever one transaction wrote under two prefixes is in
// both views before either announces it, across a reload too. (Two views watching on their own may
// announce one before the other has it: the leader once planned a task as a service that way.)
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PrefixView } from '../../src/recipes/prefix-view.js';
import { ViewGroup } from '../../src/recipes/view-group.js';
import { forEachBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/processes.js';
import { fresh } from '../store/conformance.js';

forEachBackend('view group', (backend) => {
  it('announces a change only once every view of the group has it, and lists every view at one revision', async () => {
    const store = await backend.open();
    const root = fresh();
    const [items, specs, other] = ['items/', 'specs/', 'other/'].map((p) => new PrefixView(store, root + p, undefined, { keysOnly: p === 'items/' }));
    const group = new ViewGroup(store, root, [items, specs, other]);
    // Written before the group starts: the first load lists both at one revision.
    for (let i = 0; i < 50; i++) await store.txn({ success: [{ type: 'put', key: `${root}items/a${i}`, value: 'x' }, { type: 'put', key: `${root}specs/a${i}`, value: 's' }] });
    const seen: string[] = [];
    const missing: string[] = [];
    items.on('reset', () => {
      for (const key of items.kvs.keys()) if (!specs.kvs.has(key.replace('/items/', '/specs/'))) missing.push(`reset: ${key}`);
    });
    items.on('change', (b) => {
      for (const e of b.events) {
        seen.push(e.kv.key);
        const spec = e.kv.key.replace('/items/', '/specs/');
        if (e.type === 'put' && !specs.kvs.has(spec)) missing.push(`change: ${e.kv.key}`);
        assert.equal(items.revision, specs.revision);
        assert.equal(e.kv.value === '' || items.kvs.get(e.kv.key)?.value === '', true, 'keys only');
      }
    });
    await group.start();
    try {
      assert.equal(items.kvs.size, 50);
      assert.equal(specs.kvs.size, 50);
      assert.equal(items.revision, specs.revision);
      const writes = Array.from({ length: 200 }, (_, i) =>
        store.txn({ success: [{ type: 'put', key: `${root}items/b${i}`, value: 'x' }, { type: 'put', key: `${root}specs/b${i}`, value: 's' }] }),
      );
      await Promise.all(writes);
      await waitFor(() => seen.length === 200, 10_000, 'every item announced');
      await group.resync(); // a reload keeps them together too
      await store.put(`${root}other/z`, '1');
      await waitFor(() => other.kvs.has(`${root}other/z`), 5000, 'the third view to follow');
      assert.deepEqual(missing, []);
      assert.equal(items.revision, other.revision);
    } finally {
      await group.close();
    }
  });
});
