// List views carry previews of large texts: the head of an item's content, the tail of a task's
// output (where the error is). The whole text is one GET of the item away, or asked for by a flag.

/** Bytes of content or output a list view shows. */
export const PREVIEW_BYTES = 1024;

/** The first `max` bytes of `text`, cut between characters. */
export function headOf(text: string, max = PREVIEW_BYTES): string {
  if (text.length * 3 <= max || Buffer.byteLength(text) <= max) return text;
  return trimBroken(Buffer.from(text).subarray(0, max).toString('utf8'), 'end');
}

/** The last `max` bytes of `text`, cut between characters. */
export function tailOf(text: string, max = PREVIEW_BYTES): string {
  if (text.length * 3 <= max || Buffer.byteLength(text) <= max) return text;
  const buf = Buffer.from(text);
  return trimBroken(buf.subarray(buf.length - max).toString('utf8'), 'start');
}

/** Drops the replacement character a cut through a multi-byte character leaves at that side. */
function trimBroken(s: string, side: 'start' | 'end'): string {
  if (side === 'end') return s.endsWith('\ufffd') ? s.replace(/\ufffd+$/, '') : s;
  return s.startsWith('\ufffd') ? s.replace(/^\ufffd+/, '') : s;
}
