// The default processor: it only says what it would do, like the etcd allocator's DefaultWorkProcessor.
import type { Processor } from './types.js';

/** Logs start, update and stop of each item. */
export function logProcessor(): Processor {
  return {
    async start(item, ctx) {
      ctx.log.info(`Starting work on id=${item.id}`, { content: item.content, token: ctx.fencingToken });
    },
    async update(item, ctx) {
      ctx.log.info(`Updating work on id=${item.id}`, { content: item.content, token: ctx.fencingToken });
    },
    async stop(item, ctx, reason) {
      ctx.log.info(`Stopping work on id=${item.id}`, { content: item.content, reason });
    },
  };
}
