// Request bodies: every route declares the content types it takes, a body of any other type is
// refused before it is read, and nothing is parsed as JSON unless it was sent as JSON — so a page's
// "simple" text/plain request can never pass for a JSON spec. Bodies arrive as bytes and must be
// UTF-8; JSON is measured (nesting, members, values, prototype keys) before and after it is parsed.
import type { FastifyRequest } from 'fastify';
import { checkShape, jsonDepth, LimitError, LIMITS, ValidationError } from '../engine/input-limits.js';
import { HttpError } from './errors.js';

/** Raw content as the etcd allocator's README sends it: `curl -d` (form encoding) or text/plain. */
const RAW = ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream'];
const JSON_TYPE = 'application/json';

/** The content types a route takes, by kind of body. */
export const BODY_TYPES = {
  /** JSON only. */
  json: [JSON_TYPE],
  /** An item: raw content, or a JSON spec sent as application/json. */
  content: [...RAW, JSON_TYPE],
  /** Raw text only. */
  text: RAW,
  /** Bytes, taken as they come (a cache value): raw types only, never decoded. */
  bytes: RAW,
  /** A job spec, JSON or YAML. */
  spec: [JSON_TYPE, 'application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'],
} as const;

export type BodyKind = keyof typeof BODY_TYPES;

/** The media type of a request, lowercased without parameters ('' when none was sent). */
export function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** Whether the request carries a body (a length over 0, or a chunked body). */
export function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
}

/** Refuses a body this route does not take (415), before a byte of it is read. */
export function checkBodyType(req: FastifyRequest, kind: BodyKind | undefined, route: string): void {
  if (!hasBody(req)) return;
  if (kind === undefined) throw new HttpError(415, 'unsupported_media_type', `${route} takes no body`);
  const accepted: readonly string[] = BODY_TYPES[kind];
  const type = mediaType(req);
  if (!accepted.includes(type)) {
    throw new HttpError(415, 'unsupported_media_type', `${route} takes ${accepted.join(', ')}; the body was sent as ${type ? `"${type.slice(0, 80)}"` : 'no content type'}`);
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && !['utf-8', 'utf8', 'us-ascii'].includes(charset)) {
    throw new HttpError(415, 'unsupported_media_type', `bodies are read as UTF-8; charset "${charset.slice(0, 40)}" is not supported`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text ('' when there is none); refuses bytes that are not UTF-8 rather than mangle them. */
export function bodyText(req: FastifyRequest): string {
  const body = req.body;
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body as Buffer);
  } catch {
    throw new ValidationError('the body is not valid UTF-8');
  }
}

/** Whether the request was sent as JSON. */
export const isJson = (req: FastifyRequest) => mediaType(req) === JSON_TYPE;

/** The body parsed as JSON, within the JSON limits and free of prototype keys. */
export function bodyJson(req: FastifyRequest): unknown {
  const text = bodyText(req);
  if (text.trim() === '') throw new ValidationError('the body is empty; send a JSON document');
  const depth = jsonDepth(text);
  if (depth > LIMITS.jsonDepth) throw new LimitError('jsonDepth', 'nesting of the JSON body', `${depth} or more`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`the body is not JSON: ${(err as Error).message}`);
  }
  checkShape(data);
  return data;
}
