import { describe, expect, it } from 'vitest';
import { InvalidOptionError, InvalidStateError, TaskqError } from '../../lib/core/index.js';
import { TaskqServer } from '../../lib/nest/index.js';

describe('TaskqServer options', () => {
  it('are validated at new, not at listen()', () => {
    for (const [options, field] of [
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: 1.5 }, 'concurrency'],
      [{ queues: {} }, 'queues'],
      [{ queues: { 'bad queue': 1 } }, 'queues'],
      [{ leaseDuration: '10 parsecs' }, 'leaseDuration'],
      [{ shutdownTimeout: -1 }, 'shutdownTimeout'],
      [{ prefix: 'has space' }, 'prefix'],
      [{ periodicSource: '' }, 'periodicSource'],
    ] as const) {
      let thrown: unknown;
      try {
        new TaskqServer(options as ConstructorParameters<typeof TaskqServer>[0]);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError);
      expect((thrown as InvalidOptionError).field).toBe(field);
    }
  });

  it('unwrap() before listen throws a TaskqError saying what to do', () => {
    const server = new TaskqServer({ connection: 'redis://127.0.0.1:1' });
    expect(() => server.unwrap()).toThrow(InvalidStateError);
    expect(() => server.unwrap()).toThrow(TaskqError);
    expect(() => server.unwrap()).toThrow(/startAllMicroservices/);
  });
});
