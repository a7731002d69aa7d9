import { EventEmitter } from 'node:events';
import { systemClock } from '../../clock.js';
import { RedisUnavailableError } from '../../errors.js';
import { startTimer, type Timer } from '../../timers.js';
import type { RedisConnection } from '../../options.js';
import type { Broker, BrokerEvents, BrokerStatus } from '../broker.js';
import { closeClient, connect, describeAddress, type RedisClient } from './connection.js';
import { RedisContext } from './context.js';
import { RedisInspectOps } from './inspect-ops.js';
import { RedisNotifications } from './notifications.js';
import { RedisPeriodicOps } from './periodic-ops.js';
import { RedisProducerOps } from './producer-ops.js';
import { RedisWorkerOps } from './worker-ops.js';
import { RedisWorkflowOps } from './workflow-ops.js';

/**
 * The broker over Redis: the command connection (created from the connection option, or one the user passed in and
 * keeps owning), the parts by audience over one shared {@link RedisContext}, and the connection lifecycle (status
 * events, waiting for Redis, closing only what it created).
 */
export class RedisBroker implements Broker {
  readonly producer: RedisProducerOps;
  readonly worker: RedisWorkerOps;
  readonly inspect: RedisInspectOps;
  readonly periodic: RedisPeriodicOps;
  readonly workflow: RedisWorkflowOps;
  readonly notify: RedisNotifications;
  readonly address: string;
  private readonly ctx: RedisContext;
  private readonly events = new EventEmitter();
  private closing?: Promise<void>;

  /**
   * @param client the command connection
   * @param prefix the key prefix
   * @param owned whether the broker created `client` (and so closes it)
   * @param role names the connections (CLIENT LIST), e.g. `taskq:worker`
   */
  constructor(
    readonly client: RedisClient,
    readonly prefix: string,
    private readonly owned = false,
    role = 'taskq',
  ) {
    this.ctx = new RedisContext(client, prefix);
    this.address = describeAddress(client);
    this.producer = new RedisProducerOps(this.ctx);
    this.worker = new RedisWorkerOps(this.ctx);
    this.inspect = new RedisInspectOps(this.ctx);
    this.periodic = new RedisPeriodicOps(this.ctx);
    this.workflow = new RedisWorkflowOps(this.ctx);
    this.notify = new RedisNotifications(this.ctx, `${role}:sub`, (err) => this.events.emit('error', err));
    this.events.on('error', () => undefined);
    client.on('ready', () => this.emitStatus('connected'));
    client.on('reconnecting', () => this.emitStatus('reconnecting'));
    client.on('end', () => this.emitStatus('disconnected'));
    client.on('error', (err: Error) => this.events.emit('error', err));
  }

  /** Connects (or adopts) the command connection described by `connection`. */
  static open(connection: RedisConnection | undefined, prefix: string, role: string): RedisBroker {
    const { client, owned } = connect(connection, role);
    return new RedisBroker(client, prefix, owned, role);
  }

  get isReady(): boolean {
    return this.client.status === 'ready';
  }

  async ready(timeoutMs: number): Promise<void> {
    let timer: Timer | undefined;
    let onError: ((err: Error) => void) | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise<never>((_, reject) => {
          timer = startTimer(systemClock, timeoutMs, () =>
            reject(
              new RedisUnavailableError(this.address, `Redis at ${this.address} did not answer within ${timeoutMs} ms`),
            ),
          );
          onError = (err: Error) =>
            reject(
              new RedisUnavailableError(this.address, `cannot connect to Redis at ${this.address}: ${err.message}`, {
                cause: err,
              }),
            );
          this.client.once('error', onError);
        }),
      ]);
    } finally {
      timer?.clear();
      if (onError) this.client.off('error', onError);
    }
  }

  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.isReady) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const onReady = (): void => {
        timer.clear();
        resolve(true);
      };
      const timer = startTimer(systemClock, timeoutMs, () => {
        this.client.off('ready', onReady);
        resolve(false);
      });
      this.client.once('ready', onReady);
    });
  }

  on<K extends keyof BrokerEvents>(event: K, listener: (...args: BrokerEvents[K]) => void): void {
    this.events.on(event, listener as (...args: unknown[]) => void);
  }

  off<K extends keyof BrokerEvents>(event: K, listener: (...args: BrokerEvents[K]) => void): void {
    this.events.off(event, listener as (...args: unknown[]) => void);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.notify.close();
      if (this.owned) await closeClient(this.client);
    })();
    return this.closing;
  }

  private emitStatus(status: BrokerStatus): void {
    this.events.emit('status', status);
  }
}
