/**
 * The one exception a decoder may throw: the input bytes do not form a valid message.
 * `offset` is the byte position where decoding failed and `path` names the field
 * (e.g. `ProduceRequest.topicData[0].name`), so a bad frame can be reported precisely.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    readonly offset: number,
    readonly path: string = '',
    options?: { cause?: unknown },
  ) {
    super(path ? `${message} at byte ${offset} (${path})` : `${message} at byte ${offset}`, options);
  }
}

/** Thrown when a message cannot be written at the requested version without losing data. */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
}
