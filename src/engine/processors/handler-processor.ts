// A processor from a user's module: `export async function start(item, ctx)`, `update`, `stop`.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WorkItem } from '../model.js';
import type { Processor, ProcessorContext, StopReason } from './types.js';

/** What a handler module exports; each function may be missing. */
export interface HandlerModule {
  start?(item: WorkItem, ctx: HandlerContext): unknown;
  update?(item: WorkItem, ctx: HandlerContext): unknown;
  stop?(item: WorkItem, ctx: HandlerContext & { reason: StopReason }): unknown;
}

/** What a handler sees: the item's signal, fencing token, worker id and a logger. */
export type HandlerContext = Pick<ProcessorContext, 'signal' | 'fencingToken' | 'workerId' | 'log'>;

/** Loads `file` (a path to an ES module) as a processor. */
export async function handlerProcessor(file: string): Promise<Processor> {
  const mod = (await import(pathToFileURL(path.resolve(file)).href)) as HandlerModule & { default?: HandlerModule };
  const h: HandlerModule = mod.start || mod.update || mod.stop ? mod : (mod.default ?? {});
  if (!h.start && !h.update && !h.stop) throw new Error(`${file} exports none of start, update, stop`);
  const view = (ctx: ProcessorContext, id: string): HandlerContext => ({ signal: ctx.signal, fencingToken: ctx.fencingToken, workerId: ctx.workerId, log: ctx.log.child({ work: id }) });
  return {
    async start(item, ctx) {
      await h.start?.(item, view(ctx, item.id));
    },
    async update(item, ctx) {
      await h.update?.(item, view(ctx, item.id));
    },
    async stop(item, ctx, reason) {
      await h.stop?.(item, { ...view(ctx, item.id), reason });
    },
  };
}
