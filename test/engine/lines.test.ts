// Lines with a bound: what the guard uses for children's output and both ends of its control channel.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter } from '../../src/engine/processors/lines.js';

function feed(splitter: LineSplitter, text: string, chunk: number): void {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunk) splitter.push(bytes.subarray(i, i + chunk));
}

describe('bounded lines', () => {
  it('splits at newlines in any chunking, drops a trailing \\r, keeps a last line without newline', () => {
    for (const chunk of [1, 2, 3, 7, 1000]) {
      const lines: string[] = [];
      const s = new LineSplitter((l) => lines.push(l), { maxBytes: 1024, overflow: 'split' });
      feed(s, 'one\r\ntwo\n\nthrée\rstill three\nlast', chunk);
      s.end();
      assert.deepEqual(lines, ['one', 'two', '', 'thrée\rstill three', 'last'], `chunks of ${chunk}`);
    }
  });

  it('cuts an endless line into pieces of at most maxBytes, never inside a character', () => {
    const text = 'aé€😀'.repeat(20); // 1-, 2-, 3- and 4-byte characters
    for (const max of [4, 5, 6, 7, 10]) {
      for (const chunk of [1, 2, 3, 5, 1000]) {
        const lines: string[] = [];
        const s = new LineSplitter((l) => lines.push(l), { maxBytes: max, overflow: 'split' });
        feed(s, `${text}\nnext\n`, chunk);
        assert.ok(lines.every((l) => Buffer.byteLength(l) <= max && !l.includes('\ufffd')), `max ${max}, chunks of ${chunk}: ${JSON.stringify(lines)}`);
        assert.equal(lines.slice(0, -1).join(''), text);
        assert.equal(lines.at(-1), 'next');
      }
    }
  });

  it('drops a message over the bound whole, says how big it was, and reads the next one intact', () => {
    const lines: string[] = [];
    const dropped: number[] = [];
    const s = new LineSplitter((l) => lines.push(l), { maxBytes: 100, overflow: 'drop', onDrop: (n) => dropped.push(n) });
    feed(s, `{"ok":1}\n${'x'.repeat(5_000_000)}\n{"ok":2}\n`, 65536);
    assert.deepEqual(lines, ['{"ok":1}', '{"ok":2}']);
    assert.deepEqual(dropped, [5_000_000]);
  });
});
