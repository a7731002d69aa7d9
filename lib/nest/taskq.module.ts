import {
  Module,
  type DynamicModule,
  type FactoryProvider,
  type InjectionToken,
  type ModuleMetadata,
  type OptionalFactoryDependency,
  type Provider,
} from '@nestjs/common';
import { TaskInspector } from '../core/inspector.js';
import { codecFromNest } from './taskq-codec.js';
import { TaskqClient, type TaskqClientOptions } from './taskq.client.js';
import { TASKQ_MODULE_OPTIONS } from './taskq.constants.js';
import { TaskqLifecycle } from './taskq.lifecycle.js';

/** Options of `TaskqModule.forRoot`: where Redis is, the key prefix, the payload codec (or Nest serializers). */
export type TaskqModuleOptions = TaskqClientOptions;

/** Options of `TaskqModule.forRootAsync`: a factory resolved by DI (e.g. from ConfigService). */
export interface TaskqModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Providers injected into `useFactory`. @defaultValue `[]` */
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** Returns the options. */
  useFactory: (...args: never[]) => TaskqModuleOptions | Promise<TaskqModuleOptions>;
  /** Extra providers available to the factory. @defaultValue `[]` */
  extraProviders?: Provider[];
}

const clientProvider: FactoryProvider<TaskqClient> = {
  provide: TaskqClient,
  useFactory: (options: TaskqModuleOptions) => new TaskqClient(options),
  inject: [TASKQ_MODULE_OPTIONS],
};

const inspectorProvider: FactoryProvider<TaskInspector> = {
  provide: TaskInspector,
  useFactory: ({ serializer, deserializer, ...options }: TaskqModuleOptions) =>
    new TaskInspector({
      ...options,
      codec: codecFromNest({ codec: options.codec, serializer, deserializer }),
    }),
  inject: [TASKQ_MODULE_OPTIONS],
};

/**
 * Provides {@link TaskqClient} and `TaskInspector` to the whole app (global module), closes them on shutdown, and drains every
 * `TaskqServer` of the app before any provider is destroyed.
 *
 * ```ts
 * @Module({ imports: [TaskqModule.forRoot({ connection: process.env.REDIS_URL })] })
 * // or
 * TaskqModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ connection: config.getOrThrow('REDIS_URL') }) })
 * ```
 */
@Module({})
export class TaskqModule {
  /** Registers the module with static options. */
  static forRoot(options: TaskqModuleOptions = {}): DynamicModule {
    return TaskqModule.build([{ provide: TASKQ_MODULE_OPTIONS, useValue: options }], []);
  }

  /** Registers the module with options from a DI factory. */
  static forRootAsync(options: TaskqModuleAsyncOptions): DynamicModule {
    const optionsProvider: FactoryProvider<TaskqModuleOptions> = {
      provide: TASKQ_MODULE_OPTIONS,
      useFactory: options.useFactory as (...args: unknown[]) => TaskqModuleOptions | Promise<TaskqModuleOptions>,
      inject: options.inject ?? [],
    };
    return TaskqModule.build([optionsProvider, ...(options.extraProviders ?? [])], options.imports ?? []);
  }

  private static build(providers: Provider[], imports: NonNullable<ModuleMetadata['imports']>): DynamicModule {
    return {
      module: TaskqModule,
      global: true,
      imports,
      providers: [...providers, clientProvider, inspectorProvider, TaskqLifecycle],
      exports: [TaskqClient, TaskInspector, TASKQ_MODULE_OPTIONS],
    };
  }
}
