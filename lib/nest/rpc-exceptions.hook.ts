import type { ArgumentsHost } from '@nestjs/common';
import { RpcExceptionsHandler } from '@nestjs/microservices/exceptions/rpc-exceptions-handler.js';
import { throwError, type Observable } from 'rxjs';
import { CAPTURED_ERROR, TaskqContext } from './taskq.context.js';

const INSTALLED: unique symbol = Symbol.for('nestjs-taskq:rpc-exceptions-hook');

type HandleFn = (exception: unknown, host: ArgumentsHost, reportUnhandled?: boolean) => Observable<unknown>;

/**
 * Keeps the original error of a taskq handler.
 *
 * Nest routes every error of an RPC handler (guard, interceptor, pipe, method) through a per-handler
 * `RpcExceptionsHandler`, whose last resort turns it into `{ status: 'error', message: 'Internal server error' }`
 * and logs it. A task queue needs the real error (SkipRetryError, the ValidationPipe's messages, the message that
 * becomes `lastError`). The handler is created inside Nest's listener binding, out of a transport's reach, so this
 * hook wraps its `handle` once, for calls whose context is a {@link TaskqContext} only (other transports are
 * untouched): it records the error on the context, lets your exception filters run as usual (they see the
 * original error), and when no filter claims it, rethrows the original instead of the generic object (the worker
 * logs and retries it; Nest's "Internal server error" log line would only repeat it).
 */
export function installRpcExceptionsHook(): void {
  const proto = RpcExceptionsHandler.prototype as unknown as { handle: HandleFn; [INSTALLED]?: true };
  if (proto[INSTALLED]) return;
  const original = proto.handle;
  proto.handle = function (this: RpcExceptionsHandler, exception, host, reportUnhandled) {
    const ctx: unknown = host.getArgByIndex(1);
    if (!(ctx instanceof TaskqContext)) return original.call(this, exception, host, reportUnhandled);
    ctx[CAPTURED_ERROR] = exception;
    return this.invokeCustomFilters(exception, host) ?? throwError(() => exception);
  };
  proto[INSTALLED] = true;
}
