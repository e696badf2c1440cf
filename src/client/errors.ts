// Errors of client operations, each with what a user needs to act; the HTTP face maps them to status codes.
export { ValidationError } from '../engine/model.js';

/** The item or worker does not exist. */
export class NotFoundError extends Error {
  constructor(what: string, id: string) {
    super(`${what} ${id} does not exist`);
    this.name = 'NotFoundError';
  }
}

/** The request collides with what exists (an id already taken). */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** Content larger than the limit. */
export class TooLargeError extends Error {
  constructor(size: number, limit: number) {
    super(`content is ${size} bytes; the limit is ${limit} bytes`);
    this.name = 'TooLargeError';
  }
}
