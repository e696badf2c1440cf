// One error type per way a store call can fail; both backends throw exactly these.

/** The kinds of store failure, as a stable string for logs and HTTP answers. */
export type StoreErrorCode =
  | 'compacted'
  | 'future-revision'
  | 'lease-not-found'
  | 'unavailable'
  | 'invalid-request'
  | 'response-too-large'
  | 'permission-denied'
  | 'closed';

/** Base of every store error; `code` says which kind. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The requested revision was compacted away; re-read the current state and watch from there. */
export class CompactedError extends StoreError {
  constructor(
    /** The revision history now starts after (undefined when the backend does not say). */
    readonly compactRevision: number | undefined,
    readonly requestedRevision?: number,
  ) {
    super(
      'compacted',
      `revision ${requestedRevision ?? '?'} has been compacted (compacted up to ${compactRevision ?? '?'}); list again and watch from the listed revision`,
    );
  }
}

/** The requested revision is newer than the store's. */
export class FutureRevisionError extends StoreError {
  constructor(readonly requestedRevision: number, readonly currentRevision?: number) {
    super('future-revision', `revision ${requestedRevision} is in the future (current: ${currentRevision ?? '?'})`);
  }
}

/** The lease expired or was revoked (or never existed). */
export class LeaseNotFoundError extends StoreError {
  constructor(readonly leaseId: string) {
    super('lease-not-found', `lease ${leaseId} not found: it expired or was revoked`);
  }
}

/**
 * The store could not be reached or did not answer in time; the call may or may not have taken
 * effect. `endpoint` names where the store was sought (its message then starts "cannot reach etcd at …").
 */
export class UnavailableError extends StoreError {
  readonly endpoint?: string;

  constructor(message: string, options?: { cause?: unknown; endpoint?: string }) {
    super('unavailable', message, options);
    this.endpoint = options?.endpoint;
  }
}

/** The request breaks a rule of the store (too many operations, too large, duplicate key in a txn…). */
export class InvalidRequestError extends StoreError {
  constructor(message: string) {
    super('invalid-request', message);
  }
}

/**
 * An answer was larger than this client accepts (etcd's gRPC receive limit). Lists read in pages
 * that shrink when this happens; for one key it means the receive limit is below the value's size.
 */
export class ResponseTooLargeError extends StoreError {
  constructor(message: string) {
    super('response-too-large', message);
  }
}

/** The store refused the credentials or the permission. */
export class PermissionDeniedError extends StoreError {
  constructor(message: string) {
    super('permission-denied', message);
  }
}

/** The store was closed by this process. */
export class StoreClosedError extends StoreError {
  constructor() {
    super('closed', 'the store is closed');
  }
}
