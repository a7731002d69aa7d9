import { HttpException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { SkipRetryError, toError } from '../core/errors.js';
import { CAPTURED_ERROR, type TaskqContext } from './taskq.context.js';

/** 4xx statuses that mean "try again later", not "this input is refused". */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 429]);

/** Joins a message that may be a list (ValidationPipe reports one line per violated constraint). */
function messageOf(value: unknown, fallback: string): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v) => messageOf(v, String(v))).join('; ');
  if (typeof value === 'object' && value !== null && 'message' in value) {
    return messageOf((value as { message: unknown }).message, fallback);
  }
  if (value === undefined || value === null) return fallback;
  try {
    return JSON.stringify(value);
  } catch {
    return fallback;
  }
}

/**
 * Turns what a handler's pipeline failed with into the error the core worker acts on.
 *
 * Nest's exception layer hands the transport plain objects (`{ status: 'error', message }`), not Errors; the
 * original error is kept on the context by the exception-handler hook (rpc-exceptions.hook.ts), so it is used
 * whenever the stream failed with something that is not an Error. A filter that rethrows an Error decides the
 * outcome itself (throw a SkipRetryError to archive).
 *
 * Refusals archive at once (wrapped in SkipRetryError, message kept): `RpcException` (guards, RPC-style pipes) and
 * 4xx `HttpException`s other than 408/429 (`ValidationPipe`, `Parse*Pipe`, `StandardSchemaValidationPipe`,
 * `ForbiddenException`). Everything else goes to the retry policy unchanged.
 */
export function resolveTaskError(thrown: unknown, ctx: TaskqContext): Error {
  const captured = ctx[CAPTURED_ERROR];
  const original = thrown instanceof Error || captured === undefined ? thrown : captured;
  if (original instanceof SkipRetryError) return original;
  if (original instanceof RpcException) {
    return new SkipRetryError(messageOf(original.getError(), original.message), { cause: original });
  }
  if (original instanceof HttpException) {
    const status = original.getStatus();
    if (status >= 400 && status < 500 && !RETRYABLE_CLIENT_STATUSES.has(status)) {
      return new SkipRetryError(messageOf(original.getResponse(), original.message), { cause: original });
    }
    return original;
  }
  return toError(original);
}
