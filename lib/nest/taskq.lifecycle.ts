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
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    this.subscription = this.modules.getRpcTargetRegistry().subscribe((target) => {
      if (target instanceof TaskqServer) this.servers.add(target);
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

  /** Gracefully closes every TaskqServer of this app (idempotent). */
  async drain(): Promise<void> {
    const servers = [...this.servers];
    if (servers.length === 0) return;
    const results = await Promise.allSettled(servers.map((s) => s.close()));
    for (const r of results)
      if (r.status === 'rejected') this.logger.error(`Draining a TaskqServer failed: ${String(r.reason)}`);
  }
}
