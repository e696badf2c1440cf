// rota as a library: `import { … } from 'rota'`.
export * from './store/index.js';
export { StoreClient } from './client/store-client.js';
export { HttpClient, ApiError } from './client/http-client.js';
export type * from './client/types.js';
export { watchRun, type RunSnapshot, type WatchRunOptions } from './client/watch-run.js';
export type { RunEvent } from './engine/runs/run-events.js';
export { readSse, type SseEvent } from './client/sse-reader.js';
export { RotaNode, type RotaNodeOptions, type WorkerSettings } from './engine/node.js';
export { Keys } from './engine/keys.js';
export { createLogger, type Logger } from './engine/log.js';
export type { Processor, ProcessorContext } from './engine/processors/types.js';
export type { HandlerContext, HandlerModule } from './engine/processors/handler-processor.js';
export { Session } from './recipes/session.js';
export { Election } from './recipes/election.js';
export { PrefixView } from './recipes/prefix-view.js';
export { Membership } from './recipes/membership.js';
export { cache, type CacheClient, type CacheClientOptions, type CacheValue } from './cache-client.js';
export { CacheOpError } from './engine/caches/cache-router.js';
