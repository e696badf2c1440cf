// Every failure answered as JSON {error, message} with the status that says whose fault it is:
// anything a client sent is a 4xx; a 5xx means the node or its store failed.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, NotFoundError, TooLargeError, ValidationError } from '../client/errors.js';
import { CacheOpError } from '../engine/caches/cache-router.js';
import { LimitError } from '../engine/input-limits.js';
import { StoreError, UnavailableError } from '../store/index.js';

/** An HTTP error with a code a program can switch on and a message a person can act on. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Status, code and message for any error a handler threw. */
export function describeError(err: unknown, req?: FastifyRequest): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof CacheOpError) return new HttpError(err.status, err.code, err.message);
  if (err instanceof LimitError) return new HttpError(413, 'too_large', err.message);
  if (err instanceof ValidationError) return new HttpError(400, 'invalid', err.message);
  if (err instanceof NotFoundError) return new HttpError(404, 'not_found', err.message);
  if (err instanceof ConflictError) return new HttpError(409, 'conflict', err.message);
  if (err instanceof TooLargeError) return new HttpError(413, 'too_large', err.message);
  if (err instanceof StoreError) {
    return err.code === 'invalid-request' ? new HttpError(400, 'invalid', err.message) : new HttpError(503, 'unavailable', err instanceof UnavailableError && err.endpoint ? err.message : `the store cannot answer: ${err.message}`);
  }
  const fe = err as FastifyError;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = req?.routeOptions.bodyLimit;
    return new HttpError(413, 'too_large', `the body is larger than this route's limit${limit ? ` of ${limit} bytes` : ''}${req?.headers['content-length'] ? ` (it has ${req.headers['content-length']})` : ''}`);
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new HttpError(415, 'unsupported_media_type', fe.message);
  if (fe.code?.startsWith('FST_ERR_CTP') || (fe.statusCode === 400 && fe.message)) return new HttpError(400, 'invalid', `the body cannot be read: ${fe.message}`);
  if (fe.statusCode && fe.statusCode < 500) return new HttpError(fe.statusCode, 'invalid', fe.message.length > 300 ? `${fe.message.slice(0, 300)}…` : fe.message);
  return new HttpError(500, 'internal', err instanceof Error ? err.message : String(err));
}

/** Fastify error handler answering with describeError. */
export function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = describeError(err, req);
  void reply.status(e.status).headers(e.headers).send({ error: e.code, message: e.message });
}
