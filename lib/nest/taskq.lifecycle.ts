import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import type { Subscription } from 'rxjs';
import { TaskInspector } from '../core/inspector.js';
import { TaskqClient } from './taskq.client.js';
import { TaskqServer } from './taskq.server.js';
import { TASKQ_MODULE_OPTIONS } from './taskq.constants.js';
import type { TaskqModuleOptions } from './taskq.module.js';
import { describeConnection } from '../core/broker/open-broker.js';
import { DEFAULT_PREFIX } from '../core/options.js';

const WRAPPED: unique symbol = Symbol.for('nestjs-taskq:before-close');

interface ClosableAdapter {
  beforeClose?: () => unknown;
  [WRAPPED]?: true;
}

/**
 * Orders shutdown so that no task runs against a destroyed provider.
 *
 * In a hybrid app Nest destroys providers (`onModuleDestroy`, `beforeApplicationShutdown`) before it closes the
 * connected microservices, so a task still running would meet closed database pools. This provider drains every
 * {@link TaskqServer} of its app (found in Nest's RPC target registry) first: from the HTTP adapter's
 * `beforeClose` step, which `app.close()` runs before any destroy hook, and again (a no-op by then) from its own
 * `onModuleDestroy`. Draining is the server's graceful `close()`: running tasks finish within `shutdownTimeout`,
 * the others go back to their queue. The injectable client and inspector close last, in `onApplicationShutdown`, so your own
 * destroy hooks can still enqueue.
 */
@Injectable()
export class TaskqLifecycle implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('TaskqModule');
  private readonly servers = new Set<TaskqServer>();
  private subscription?: Subscription;

  constructor(
    private readonly modules: ModulesContainer,
    private readonly client: TaskqClient,
    private readonly inspector: TaskInspector,
    @Inject(TASKQ_MODULE_OPTIONS) private readonly options: TaskqModuleOptions,
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    this.subscription = this.modules.getRpcTargetRegistry().subscribe((target) => {
      if (!(target instanceof TaskqServer)) return;
      this.servers.add(target);
      this.checkAgreement(target);
    });
    const adapter = this.adapterHost?.httpAdapter as ClosableAdapter | undefined;
    if (adapter && !adapter[WRAPPED]) {
      const original = adapter.beforeClose?.bind(adapter);
      adapter.beforeClose = async () => {
        await this.drain();
        return original?.();
      };
      adapter[WRAPPED] = true;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    await Promise.all([this.client.close(), this.inspector.close()]);
  }

  /**
   * A server built apart from the module (`new TaskqServer(...)`) must look where the module's client enqueues;
   * otherwise tasks wait where no worker looks, silently. Warn, naming both values.
   */
  private checkAgreement(server: TaskqServer): void {
    const mine = {
      connection: describeConnection(this.options.connection),
      prefix: this.options.prefix ?? DEFAULT_PREFIX,
    };
    const theirs = server.configuration;
    const differences: string[] = [];
    if (mine.connection !== theirs.connection) {
      differences.push(`connection: TaskqModule ${mine.connection}, TaskqServer ${theirs.connection}`);
    }
    if (mine.prefix !== theirs.prefix)
      differences.push(`prefix: TaskqModule "${mine.prefix}", TaskqServer "${theirs.prefix}"`);
    if (differences.length === 0) return;
    this.logger.warn(
      `A TaskqServer and TaskqModule disagree (${differences.join('; ')}): tasks enqueued through TaskqClient are ` +
        'not seen by this server. Configure the module once and connect its server: ' +
        'app.connectMicroservice({ strategy: app.get(TaskqServer) }).',
    );
  }

  /** Gracefully closes every TaskqServer of this app (idempotent). */
  async drain(): Promise<void> {
    const servers = [...this.servers];
    if (servers.length === 0) return;
    const results = await Promise.allSettled(servers.map((s) => s.close()));
    for (const r of results)
      if (r.status === 'rejected') this.logger.error(`Draining a TaskqServer failed: ${String(r.reason)}`);
  }
}
