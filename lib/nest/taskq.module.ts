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
import { TASKQ_CONFIGURED_OPTIONS, TASKQ_MODULE_OPTIONS } from './taskq.constants.js';
import { TaskqLifecycle } from './taskq.lifecycle.js';
import { TaskqServer, type TaskqServerOptions } from './taskq.server.js';

/**
 * The server's own options inside {@link TaskqModuleOptions}: everything of TaskqServerOptions but what the module
 * owns for the whole app (connection, prefix, codec and serializers).
 */
export type TaskqModuleServerOptions = Omit<
  TaskqServerOptions,
  'connection' | 'prefix' | 'codec' | 'serializer' | 'deserializer' | 'enqueueTimeout' | 'maxPayloadSize'
>;

/**
 * Options of `TaskqModule.forRoot`: the one configuration of the app: where Redis is, the key prefix, the payload
 * codec (or Nest serializers), the producer limits, and the options of the server the module provides.
 */
export interface TaskqModuleOptions extends TaskqClientOptions {
  /**
   * Options of the {@link TaskqServer} the module provides (`app.get(TaskqServer)`), which shares the module's
   * connection, prefix and codec, so producers and workers can never disagree on them.
   * @defaultValue the server's defaults (concurrency 10, queue `default`...)
   */
  server?: TaskqModuleServerOptions;
}

/** Options of `TaskqModule.forRootAsync`: a factory resolved by DI (e.g. from ConfigService). */
export interface TaskqModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Providers injected into `useFactory`, in order. @defaultValue `[]` */
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  /**
   * Returns the options; receives the `inject` providers in order: `(config: ConfigService) => ({ ... })`, or
   * `(c) => …` unannotated.
   */
  // `any[]` exactly as Nest's own async module options (ConfigurableModuleAsyncOptions, ClientsModule): the injected
  // values are only known at runtime, and `unknown[]`/`never[]` would make an unannotated parameter unusable.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => TaskqModuleOptions | Promise<TaskqModuleOptions>;
  /** Extra providers available to the factory. @defaultValue `[]` */
  extraProviders?: Provider[];
}

const clientProvider: FactoryProvider<TaskqClient> = {
  provide: TaskqClient,
  useFactory: ({ server: _server, ...options }: TaskqModuleOptions) => new TaskqClient(options),
  inject: [TASKQ_MODULE_OPTIONS],
};

const inspectorProvider: FactoryProvider<TaskInspector> = {
  provide: TaskInspector,
  useFactory: ({
    serializer,
    deserializer,
    server: _server,
    sendTimeout: _sendTimeout,
    ...options
  }: TaskqModuleOptions) =>
    new TaskInspector({
      ...options,
      codec: codecFromNest({ codec: options.codec, serializer, deserializer }),
    }),
  inject: [TASKQ_MODULE_OPTIONS],
};

/** The server, built from the module's own configuration (creating it connects nothing: `listen()` does). */
const serverProvider: FactoryProvider<TaskqServer> = {
  provide: TaskqServer,
  useFactory: ({ connection, prefix, codec, serializer, deserializer, maxPayloadSize, server }: TaskqModuleOptions) =>
    new TaskqServer({ ...server, connection, prefix, codec, serializer, deserializer, maxPayloadSize }),
  inject: [TASKQ_MODULE_OPTIONS],
};

/**
 * Provides {@link TaskqClient}, `TaskInspector` and {@link TaskqServer} to the whole app (global module) from one
 * configuration, closes them on shutdown, and drains every `TaskqServer` of the app before any provider is destroyed.
 *
 * ```ts
 * @Module({ imports: [TaskqModule.forRoot({ connection: process.env.REDIS_URL, server: { concurrency: 20 } })] })
 * // main.ts
 * app.connectMicroservice({ strategy: app.get(TaskqServer) });
 * // or, from configuration
 * TaskqModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ connection: config.getOrThrow('REDIS_URL') }) })
 * ```
 */
@Module({})
export class TaskqModule {
  /** Registers the module with static options. */
  static forRoot(options: TaskqModuleOptions = {}): DynamicModule {
    return TaskqModule.build([{ provide: TASKQ_CONFIGURED_OPTIONS, useValue: options }], []);
  }

  /** Registers the module with options from a DI factory. */
  static forRootAsync(options: TaskqModuleAsyncOptions): DynamicModule {
    const optionsProvider: FactoryProvider<TaskqModuleOptions> = {
      provide: TASKQ_CONFIGURED_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    };
    return TaskqModule.build([optionsProvider, ...(options.extraProviders ?? [])], options.imports ?? []);
  }

  private static build(providers: Provider[], imports: NonNullable<ModuleMetadata['imports']>): DynamicModule {
    return {
      module: TaskqModule,
      global: true,
      imports,
      // TASKQ_MODULE_OPTIONS aliases the configured options, so the testing kit can override it alone.
      providers: [
        ...providers,
        { provide: TASKQ_MODULE_OPTIONS, useExisting: TASKQ_CONFIGURED_OPTIONS },
        clientProvider,
        inspectorProvider,
        serverProvider,
        TaskqLifecycle,
      ],
      exports: [TaskqClient, TaskInspector, TaskqServer, TASKQ_MODULE_OPTIONS],
    };
  }
}
