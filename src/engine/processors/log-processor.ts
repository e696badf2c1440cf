// The default processor: it only says what it would do, like the etcd allocator's DefaultWorkProcessor.
import { formatValue } from '../log.js';
import type { Processor } from './types.js';

/** Characters of content a log line shows: an item may hold 1 MiB, a log line should not. */
const LOGGED_CONTENT = 256;

/** Logs start, update and stop of each item. */
export function logProcessor(): Processor {
  const shown = (content: string) => (content.length <= LOGGED_CONTENT ? content : `${content.slice(0, LOGGED_CONTENT)}…(${Buffer.byteLength(content)} bytes)`);
  const line = (verb: string, id: string, content: string) => `${verb} work on id=${id}, content=${formatValue(shown(content))}`;
  return {
    async start(item, ctx) {
      ctx.log.info(line('Starting', item.id, item.content), { token: ctx.fencingToken });
    },
    async update(item, ctx) {
      ctx.log.info(line('Updating', item.id, item.content), { token: ctx.fencingToken });
    },
    async stop(item, ctx, reason) {
      ctx.log.info(line('Stopping', item.id, item.content), { reason });
    },
  };
}
