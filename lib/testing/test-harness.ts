import type { INestApplicationContext } from '@nestjs/common';
import { dropMemoryStore } from '../core/broker/memory/registry.js';
import type { SimulatedClock } from '../core/clock.js';
import { parseDuration, type Duration } from '../core/duration.js';
import { InvalidStateError } from '../core/errors.js';
import { JSON_CODEC, type PayloadCodec } from '../core/payload-codec.js';
import type { TaskInfo } from '../core/task.js';
import { toTaskInfo } from '../core/task-info.js';
import { codecFromNest } from '../nest/taskq-codec.js';
import { TASKQ_MODULE_OPTIONS } from '../nest/taskq.constants.js';
import type { TaskqModuleOptions } from '../nest/taskq.module.js';
import { TaskqServer } from '../nest/taskq.server.js';
import { Drainer, type DrainedTask, type DrainOptions } from './drain.js';
import { KitStore } from './kit-store.js';
import { settleStore } from './settle.js';
import { advanceClock } from './time-travel.js';

export type { DrainedTask, DrainOptions } from './drain.js';

/** A Nest microservice (or hybrid part) that can be started. */
interface Startable {
  listen(): Promise<unknown>;
}

/** The parts of a Nest application (HTTP or microservice) the harness uses, if the context has them. */
interface AppParts {
  getMicroservices?: () => unknown[];
  connectMicroservice?: (options: { strategy: TaskqServer }) => Startable;
  serverInstance?: unknown;
  listen?: () => Promise<unknown>;
  init?: () => Promise<unknown>;
  close?: () => Promise<unknown>;
}

const NOT_ON_KIT =
  'the app does not run on the testing kit: import TaskqTestingModule.forRoot() instead of TaskqModule, or compile ' +
  'TaskqTestingModule.override(Test.createTestingModule({ imports: [AppModule] }))';

function tryGet<T>(app: INestApplicationContext, token: unknown): T | undefined {
  try {
    return app.get<T>(token as symbol, { strict: false });
  } catch {
    return undefined;
  }
}

/** The microservice that runs `server` in `app`, connected now if the app has none (a hybrid app). */
function startableOf(app: INestApplicationContext, server: TaskqServer | undefined): Startable | undefined {
  if (!server) return undefined;
  const parts = app as unknown as AppParts;
  if (parts.serverInstance === server && parts.listen) return app as unknown as Startable;
  if (!parts.getMicroservices) return undefined;
  const connected = parts.getMicroservices().find((m) => (m as AppParts).serverInstance === server);
  if (connected) return connected as Startable;
  return parts.connectMicroservice?.({ strategy: server });
}

/**
 * Drives the tasks of a test app on the testing kit (`TaskqTestingModule`): what was enqueued, running the ready
 * ones through the app's real `TaskqServer` (guards, pipes, interceptors, filters, the retry and archive policy),
 * and moving the app's SimulatedClock.
 *
 * ```ts
 * const app = moduleRef.createNestApplication();
 * const taskq = TaskqTestHarness.connect(app);   // connects the TaskqServer unless the app has; starts it at init
 * await app.init();
 * await request(app.getHttpServer()).post('/signup').send({ email: 'ada@example.com' });
 * expect(taskq.enqueued('email:welcome')).toHaveLength(1);
 * const ran = await taskq.drain();
 * await taskq.advance('10m');                    // the reminder (processIn '10m') is due now
 * await taskq.drain();
 * ```
 */
export class TaskqTestHarness {
  private readonly drainer: Drainer;
  private starting?: Promise<void>;

  private constructor(
    private readonly kit: KitStore,
    private readonly codec: PayloadCodec,
    private readonly server: TaskqServer | undefined,
    private readonly startable: Startable | undefined,
  ) {
    this.drainer = new Drainer(kit, server);
  }

  /**
   * Attaches a harness to an app (or a bare testing module, for producer tests: `enqueued`, `task`, `advance`). An
   * app without a TaskqServer connected gets the module's one connected; it starts when the app's `init()` resolves
   * (or at the first `drain`/`advance`). Closing the app releases its in-memory store.
   * @throws InvalidStateError when the app does not run on the testing kit
   */
  static connect(app: INestApplicationContext): TaskqTestHarness {
    const options = tryGet<TaskqModuleOptions>(app, TASKQ_MODULE_OPTIONS);
    const kit = KitStore.of(options?.connection);
    if (!options || !kit) throw new InvalidStateError(`TaskqTestHarness.connect(): ${NOT_ON_KIT}`);
    const server = tryGet<TaskqServer>(app, TaskqServer);
    const harness = new TaskqTestHarness(kit, codecFromNest(options) ?? JSON_CODEC, server, startableOf(app, server));
    const parts = app as unknown as AppParts;
    if (parts.init && harness.startable) {
      const init = parts.init.bind(app);
      parts.init = async () => {
        const initialized = await init();
        await harness.start();
        return initialized;
      };
    }
    if (parts.close) {
      const close = parts.close.bind(app);
      parts.close = async () => {
        try {
          return await close();
        } finally {
          dropMemoryStore(kit.store);
        }
      };
    }
    return harness;
  }

  /** The app's clock (what {@link advance} moves). */
  get clock(): SimulatedClock {
    return this.kit.clock;
  }

  /**
   * What the app enqueued (through TaskqClient or TaskClient, from handlers, by periodic ticks), in order, as each task
   * was when it was stored (`pending` or `scheduled`); {@link task} reads its state now.
   * @param type only tasks of this type
   */
  enqueued(type?: string): TaskInfo[] {
    const all = this.kit.enqueued.map((r) => toTaskInfo(r.queue, r.id, r.stored, this.codec));
    return type === undefined ? all : all.filter((t) => t.type === type);
  }

  /**
   * Runs every ready task of the queues the app's TaskqServer serves (`server.queues`) through it, including tasks the
   * handlers enqueue, until nothing is ready (scheduled and retry tasks wait for {@link advance}); returns the attempts
   * that finished, in order.
   * @throws DrainLimitError when more than `maxTasks` ran (nothing new starts after that; the running ones finish)
   * @throws InvalidStateError without a TaskqServer to run them (a bare testing module)
   */
  async drain(options: DrainOptions = {}): Promise<DrainedTask[]> {
    if (!this.server || !this.startable) {
      throw new InvalidStateError(
        'TaskqTestHarness.drain(): no TaskqServer to run tasks on: connect an app (moduleRef.createNestApplication())',
      );
    }
    await this.start();
    return this.drainer.drain(this.server, options);
  }

  /**
   * Moves the app's clock forward, firing every timer on the way in order with the engine settled between them:
   * delayed tasks and retries come due, periodic entries fire, leases are extended. Due tasks are then pending: run
   * them with {@link drain}.
   * @throws InvalidOptionError naming `duration` for a negative or unparsable duration
   */
  async advance(duration: Duration): Promise<void> {
    const ms = parseDuration(duration, 'duration');
    await this.start();
    await advanceClock(this.kit.clock, ms, () => settleStore(this.kit.store, this.kit.clock));
  }

  /** A task as it is now (a task deleted on completion: as it completed, with its result); undefined if unknown. */
  task(id: string): TaskInfo | undefined {
    const found = this.kit.find(id);
    return found && toTaskInfo(found.queue, found.id, found.stored, this.codec);
  }

  /** Forgets what was enqueued and deletes every task that is not running; periodic entries stay. */
  clear(): void {
    this.kit.clear();
    this.drainer.clear();
  }

  /** Starts the app's TaskqServer unless it listens already. */
  private start(): Promise<void> {
    if (!this.server || !this.startable || this.listening()) return this.starting ?? Promise.resolve();
    this.starting ??= this.startable.listen().then(() => undefined);
    return this.starting;
  }

  private listening(): boolean {
    try {
      this.server?.unwrap();
      return true;
    } catch {
      return false;
    }
  }
}
