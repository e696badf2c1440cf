// Lists by pages bounded in count and size, part of the conformance suite: values that together
// pass grpc-js's default 4 MiB receive limit, and a property over random sizes and page limits.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import fc from 'fast-check';
import { listPrefix, readPage, scanPrefix, sizeOf, type KeyValue, type ScanPage, type Store, type WatchBatch } from '../../src/store/index.js';
import { waitFor } from '../helpers/processes.js';

const MiB = 1024 * 1024;
const fresh = () => `/t/${randomUUID().slice(0, 8)}/`;
/** A value of `size` bytes that differs from its neighbours (its first character). */
const valueOf = (i: number, size: number) => (size === 0 ? '' : String.fromCharCode(97 + (i % 26)) + '.'.repeat(size - 1));

/** Asserts what a scan promises of each page and returns the keys of all pages. */
function checkPages(pages: ScanPage[], pageSize: number, pageBytes: number): KeyValue[] {
  for (const [i, page] of pages.entries()) {
    assert.ok(page.kvs.length <= pageSize, `page ${i}: ${page.kvs.length} keys > ${pageSize}`);
    const bytes = page.kvs.reduce((n, kv) => n + sizeOf(kv), 0);
    assert.ok(bytes <= pageBytes || page.kvs.length === 1, `page ${i}: ${bytes} bytes in ${page.kvs.length} keys > ${pageBytes}`);
    assert.equal(page.revision, pages[0].revision, 'every page at one revision');
    assert.equal(page.more, i < pages.length - 1, `page ${i}: more`);
  }
  return pages.flatMap((p) => p.kvs);
}

/** Registers the paging tests; `store` is the suite's store once it is open. */
export function pagingConformance(store: () => Store, propertyRuns: number): void {
  it('lists 12 values of 1 MiB (12 MiB, past the 4 MiB a gRPC answer may hold by default) in pages of bounded size, at one revision', async () => {
    const p = fresh();
    const size = MiB - 100; // the content limit is 1 MiB
    const first = await store().put(`${p}00`, valueOf(0, size));
    for (let i = 1; i < 12; i++) await store().put(`${p}${String(i).padStart(2, '0')}`, valueOf(i, size));

    const all = await listPrefix(store(), p);
    assert.deepEqual(all.kvs.map((kv) => kv.key), Array.from({ length: 12 }, (_, i) => `${p}${String(i).padStart(2, '0')}`));
    all.kvs.forEach((kv, i) => assert.ok(kv.value === valueOf(i, size), `value ${i} read back whole`));

    // Pages of at most 2.5 MiB; a write between pages is not seen (one revision).
    const pages: ScanPage[] = [];
    for await (const page of scanPrefix(store(), p, { pageBytes: 2.5 * MiB })) {
      if (pages.length === 0) await store().put(`${p}99`, 'written after the first page');
      pages.push(page);
    }
    assert.equal(checkPages(pages, 1000, 2.5 * MiB).length, 12);
    assert.ok(pages.length >= 5, `${pages.length} pages for 12 MiB in pages of 2.5 MiB`);

    // A watch catching up from before the first put replays every large event.
    const watch = store().watch(p, { prefix: true, fromRevision: first.revision });
    try {
      const batches: WatchBatch[] = [];
      watch.on('events', (b) => batches.push(b));
      await waitFor(() => batches.length >= 13, 20_000, `13 watch batches (have ${batches.length})`);
      assert.deepEqual(batches.slice(0, 12).map((b) => b.events[0].kv.value.length), Array(12).fill(size));
    } finally {
      await watch.close();
    }
  });

  it('property: paged scans return exactly the range, every page within its count and size, and pages resume after a key', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 64 * 1024 }), { minLength: 0, maxLength: 16 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 200 * 1024 }),
        fc.nat(),
        async (sizes, pageSize, pageBytes, cut) => {
          const p = fresh();
          if (sizes.length > 0) {
            await store().txn({ success: sizes.map((size, i) => ({ type: 'put' as const, key: `${p}${String(i).padStart(3, '0')}`, value: valueOf(i, size) })) });
          }
          await store().put(`${p.slice(0, -1)}~`, 'beside the prefix, never listed');
          const expected = (await store().range(p, { prefix: true })).kvs;
          const pages: ScanPage[] = [];
          for await (const page of scanPrefix(store(), p, { pageSize, pageBytes })) pages.push(page);
          assert.deepEqual(checkPages(pages, pageSize, pageBytes), expected);

          // One API page: after a key, at most `limit` keys weighing at most `maxBytes` (or one key).
          const after = expected.length ? expected[cut % expected.length].key : undefined;
          const rest = after ? expected.filter((kv) => kv.key > after) : expected;
          const limit = 1 + (cut % 5);
          const page = await readPage(store(), p, { after, limit, maxBytes: pageBytes });
          assert.deepEqual(page.kvs, rest.slice(0, page.kvs.length), 'the page starts right after the key, in order');
          const bytes = page.kvs.reduce((n, kv) => n + sizeOf(kv), 0);
          assert.ok(page.kvs.length <= limit && (bytes <= pageBytes || page.kvs.length === 1));
          assert.equal(page.more, page.kvs.length < rest.length);
          if (rest.length > 0) assert.ok(page.kvs.length >= 1, 'a page holds at least one key');
          if (page.kvs.length < Math.min(limit, rest.length)) assert.ok(bytes + sizeOf(rest[page.kvs.length]) > pageBytes, 'a page stops early only for size');
        },
      ),
      { numRuns: propertyRuns },
    );
  });
}
