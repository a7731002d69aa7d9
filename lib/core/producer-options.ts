import { parseDuration } from './duration.js';
import { InvalidOptionError } from './errors.js';
import type { TaskqOptions } from './options.js';

/** Default {@link TaskqOptions.enqueueTimeout} (10 s). */
export const DEFAULT_ENQUEUE_TIMEOUT_MS = 10_000;
/** Default {@link TaskqOptions.maxPayloadSize} (1 MiB). */
export const DEFAULT_MAX_PAYLOAD_SIZE = 1_048_576;
/** The largest {@link TaskqOptions.maxPayloadSize}: Redis's own limit for one value (512 MiB). */
export const MAX_PAYLOAD_SIZE_LIMIT = 512 * 1_048_576;

/** The producer limits after validation and defaulting. */
export interface ProducerLimits {
  /** undefined: wait forever. */
  enqueueTimeoutMs: number | undefined;
  maxPayloadSize: number;
}

/**
 * Validates and defaults the producer limits of {@link TaskqOptions}.
 * @throws InvalidOptionError naming the field and what is allowed.
 */
export function resolveProducerLimits(options: TaskqOptions): ProducerLimits {
  let enqueueTimeoutMs: number | undefined = DEFAULT_ENQUEUE_TIMEOUT_MS;
  if (options.enqueueTimeout === false) enqueueTimeoutMs = undefined;
  else if (options.enqueueTimeout !== undefined) {
    enqueueTimeoutMs = parseDuration(options.enqueueTimeout, 'enqueueTimeout');
    if (enqueueTimeoutMs === 0)
      throw new InvalidOptionError('enqueueTimeout', 'got 0; expected a positive duration, or false to wait forever');
  }
  const maxPayloadSize = options.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD_SIZE;
  if (!Number.isInteger(maxPayloadSize) || maxPayloadSize < 1 || maxPayloadSize > MAX_PAYLOAD_SIZE_LIMIT) {
    throw new InvalidOptionError(
      'maxPayloadSize',
      `got ${String(maxPayloadSize)}; expected an integer number of bytes from 1 to ${MAX_PAYLOAD_SIZE_LIMIT} (512 MiB)`,
    );
  }
  return { enqueueTimeoutMs, maxPayloadSize };
}

/**
 * Refuses an encoded task larger than `limit` bytes.
 * @throws InvalidOptionError on `payload` with the size and the limit.
 */
export function checkEncodedSize(encoded: string, limit: number): void {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most tasks need no byte count at all.
  if (encoded.length * 3 <= limit) return;
  const bytes = Buffer.byteLength(encoded);
  if (bytes > limit) {
    throw new InvalidOptionError(
      'payload',
      `the encoded task is ${bytes} bytes; the limit (maxPayloadSize) is ${limit} bytes. Store large data elsewhere ` +
        'and pass a reference, or raise maxPayloadSize',
    );
  }
}
