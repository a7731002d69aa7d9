import type { PeriodicOptions } from '../core/periodic/entry.js';
import { TASKQ_EXTRAS_KEY } from './taskq.constants.js';
import {
  describeMethod,
  readTaskqExtras,
  type PeriodicTaskMetadata,
  type TaskHandlerMetadata,
} from './task-handler.decorator.js';

/** Options of {@link PeriodicTask}: the entry's options plus the payload every fired task carries. */
export interface PeriodicTaskOptions extends PeriodicOptions {
  /** The payload of every fired task. @defaultValue `{}` */
  payload?: unknown;
}

const EXTRAS_METADATA = 'microservices:pattern_extras';

/**
 * Declares a periodic task on a `@TaskHandler` method: when the server listens, the entry is registered (durably,
 * in Redis, shared by every replica) and each tick fires once across all replicas. Entries declared this way are
 * synced as a set: one removed from the code is removed from Redis at the next start.
 *
 * ```ts
 * @TaskHandler('report:daily')
 * @PeriodicTask('0 9 * * *', { tz: 'Asia/Shanghai' })
 * daily() { … }
 * ```
 *
 * @param cronspec 5 fields, 6 fields (leading seconds), `@hourly` style names or `@every 30s`
 */
export function PeriodicTask(cronspec: string, options: PeriodicTaskOptions = {}): MethodDecorator {
  return (target, key, descriptor) => {
    const fn = descriptor.value as object;
    const extras = (Reflect.getMetadata(EXTRAS_METADATA, fn) as Record<string, unknown> | undefined) ?? {};
    const current = readTaskqExtras(extras) ?? {};
    const { payload = {}, ...entryOptions } = options;
    const entry: PeriodicTaskMetadata = {
      cronspec,
      payload,
      options: entryOptions as Record<string, unknown>,
    };
    const meta: Partial<TaskHandlerMetadata> = {
      ...current,
      handler: current.handler ?? describeMethod(target, key),
      periodic: [...(current.periodic ?? []), entry],
    };
    Reflect.defineMetadata(EXTRAS_METADATA, { ...extras, [TASKQ_EXTRAS_KEY]: meta }, fn);
    return descriptor;
  };
}
