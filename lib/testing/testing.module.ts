import { Module, type DynamicModule } from '@nestjs/common';
import type { SimulatedClock } from '../core/clock.js';
import { TASKQ_CONFIGURED_OPTIONS, TASKQ_MODULE_OPTIONS } from '../nest/taskq.constants.js';
import { TaskqModule, type TaskqModuleOptions } from '../nest/taskq.module.js';
import { KitStore } from './kit-store.js';

/** Options of {@link TaskqTestingModule}: the app's TaskqModule options (the connection is the kit's), and a clock. */
export interface TaskqTestingOptions extends Omit<TaskqModuleOptions, 'connection'> {
  /**
   * The clock the app's tasks run on (`TaskqTestHarness.advance` moves it).
   * @defaultValue a new SimulatedClock, set to the current time
   */
  clock?: SimulatedClock;
}

/** What {@link TaskqTestingModule.override} needs of a testing module builder (Nest's `TestingModuleBuilder`). */
export interface OverridableModuleBuilder {
  overrideProvider(token: symbol): {
    useFactory(options: { factory: (options: TaskqModuleOptions) => TaskqModuleOptions; inject: symbol[] }): unknown;
  };
}

/** The options an app's TaskqModule runs on under the kit: its own, on a fresh in-memory store of its own. */
function onKitStore(options: TaskqModuleOptions, clock: SimulatedClock | undefined): TaskqModuleOptions {
  const kit = KitStore.create(clock);
  return { ...options, connection: kit.store.url };
}

/**
 * TaskqModule for tests: the same providers (`TaskqClient`, `TaskInspector`, `TaskqServer`), the same options, on an
 * in-memory store of the app's own (created when the app is compiled) with a SimulatedClock. No Redis is touched.
 * Tasks wait until `TaskqTestHarness.drain()` runs them.
 *
 * ```ts
 * // a test module written from scratch
 * await Test.createTestingModule({ imports: [TaskqTestingModule.forRoot()], controllers: [Tasks] }).compile();
 * // the app's real module tree: its TaskqModule's options are kept, its connection replaced
 * await TaskqTestingModule.override(Test.createTestingModule({ imports: [AppModule] })).compile();
 * ```
 */
@Module({})
export class TaskqTestingModule {
  /** Replaces `TaskqModule.forRoot()`: import this instead. */
  static forRoot(options: TaskqTestingOptions = {}): DynamicModule {
    const { clock, ...moduleOptions } = options;
    return {
      ...TaskqModule.forRootAsync({ useFactory: () => onKitStore(moduleOptions, clock) }),
      module: TaskqTestingModule,
    };
  }

  /**
   * Rewires the TaskqModule of an app's module tree (`forRoot` or `forRootAsync`) onto the kit: its options, as the
   * app's own factory resolves them, with the kit's in-memory connection. (Nest's `overrideModule(TaskqModule)` does
   * not match the dynamic module `forRoot()` returns, so the module's options provider is overridden instead.)
   * @returns the builder, to chain `.compile()` or more overrides
   */
  static override<B extends OverridableModuleBuilder>(builder: B, options: { clock?: SimulatedClock } = {}): B {
    builder.overrideProvider(TASKQ_MODULE_OPTIONS).useFactory({
      factory: (configured: TaskqModuleOptions) => onKitStore(configured, options.clock),
      inject: [TASKQ_CONFIGURED_OPTIONS],
    });
    return builder;
  }
}
