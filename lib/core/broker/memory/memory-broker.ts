import { EventEmitter } from 'node:events';
import type { Clock } from '../../clock.js';
import { RedisUnavailableError } from '../../errors.js';
import type { Broker, BrokerEvents, BrokerStatus } from '../broker.js';
import { MemoryContext } from './context.js';
import { MemoryInspectOps } from './inspect-ops.js';
import { MemoryNotifications } from './notifications.js';
import { MemoryPeriodicOps } from './periodic-ops.js';
import { MemoryProducerOps } from './producer-ops.js';
import { openMemoryStore } from './registry.js';
import type { MemoryStore } from './store.js';
import { MemoryWorkerOps } from './worker-ops.js';
import { MemoryWorkflowOps } from './workflow-ops.js';

/**
 * The broker over an in-memory store (`memory://NAME`): the same parts by audience as RedisBroker, over one shared
 * {@link MemoryContext}. There is no connection to lose: it is ready at once, reports `connected` once, and after
 * `close()` its operations reject as a closed connection's would. Closing never touches the store, which other
 * brokers of the process may share.
 */
export class MemoryBroker implements Broker {
  readonly producer: MemoryProducerOps;
  readonly worker: MemoryWorkerOps;
  readonly inspect: MemoryInspectOps;
  readonly periodic: MemoryPeriodicOps;
  readonly workflow: MemoryWorkflowOps;
  readonly notify: MemoryNotifications;
  readonly address: string;
  private readonly ctx: MemoryContext;
  private readonly events = new EventEmitter();

  constructor(
    readonly store: MemoryStore,
    readonly prefix: string,
  ) {
    this.ctx = new MemoryContext(store, prefix);
    this.address = store.url;
    this.producer = new MemoryProducerOps(this.ctx);
    this.worker = new MemoryWorkerOps(this.ctx);
    this.inspect = new MemoryInspectOps(this.ctx);
    this.periodic = new MemoryPeriodicOps(this.ctx);
    this.workflow = new MemoryWorkflowOps(this.ctx);
    this.notify = new MemoryNotifications(this.ctx, (err) => this.events.emit('error', err));
    this.events.on('error', () => undefined);
    // Listeners are attached right after construction: report the (immediate) connection once they are.
    queueMicrotask(() => this.emitStatus('connected'));
  }

  /** The broker of a `memory://` connection string (the store is created on first use). */
  static open(connection: string, prefix: string): MemoryBroker {
    return new MemoryBroker(openMemoryStore(connection), prefix);
  }

  get clock(): Clock {
    return this.store.clock;
  }

  get isReady(): boolean {
    return !this.ctx.isClosed;
  }

  ready(_timeoutMs: number): Promise<void> {
    if (!this.ctx.isClosed) return Promise.resolve();
    return Promise.reject(new RedisUnavailableError(this.address, `${this.address}: the broker is closed`));
  }

  whenReady(_timeoutMs: number): Promise<boolean> {
    return Promise.resolve(!this.ctx.isClosed);
  }

  on<K extends keyof BrokerEvents>(event: K, listener: (...args: BrokerEvents[K]) => void): void {
    this.events.on(event, listener as (...args: unknown[]) => void);
  }

  off<K extends keyof BrokerEvents>(event: K, listener: (...args: BrokerEvents[K]) => void): void {
    this.events.off(event, listener as (...args: unknown[]) => void);
  }

  async close(): Promise<void> {
    if (this.ctx.isClosed) return;
    this.ctx.close();
    this.notify.close();
    this.emitStatus('disconnected');
  }

  private emitStatus(status: BrokerStatus): void {
    if (status === 'connected' && this.ctx.isClosed) return;
    this.events.emit('status', status);
  }
}
