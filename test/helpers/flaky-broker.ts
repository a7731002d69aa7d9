import type { Broker } from '../../lib/core/broker/broker.js';

type Part = 'producer' | 'worker' | 'inspect' | 'periodic' | 'workflow' | 'notify';

/**
 * A broker double that injects faults: wraps a real broker and makes chosen operations fail (as a lost connection or
 * a refused command would) before they reach the store. `failNext('worker', 'complete', 2)` fails the next two
 * calls; `calls` counts every call by `part.method`.
 */
export function flakyBroker(inner: Broker): Broker & {
  failNext(part: Part, method: string, times?: number, error?: Error): void;
  calls: Map<string, number>;
} {
  const faults = new Map<string, { left: number; error: Error }>();
  const calls = new Map<string, number>();
  const wrap = <T extends object>(partName: Part, part: T): T =>
    new Proxy(part, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const name = `${partName}.${String(key)}`;
          calls.set(name, (calls.get(name) ?? 0) + 1);
          const fault = faults.get(name);
          if (fault && fault.left > 0) {
            fault.left--;
            return Promise.reject(fault.error);
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const parts = {
    producer: wrap('producer', inner.producer),
    worker: wrap('worker', inner.worker),
    inspect: wrap('inspect', inner.inspect),
    periodic: wrap('periodic', inner.periodic),
    workflow: wrap('workflow', inner.workflow),
    notify: wrap('notify', inner.notify),
  };
  return Object.assign(Object.create(inner) as Broker, parts, {
    calls,
    failNext(part: Part, method: string, times = 1, error = new Error(`injected fault in ${part}.${method}`)) {
      faults.set(`${part}.${method}`, { left: times, error });
    },
  });
}
