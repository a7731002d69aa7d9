import { EventEmitter } from 'node:events';
import type { Broker } from './broker/broker.js';
import { openBroker } from './broker/open-broker.js';
import type { RedisClient } from './broker/redis/connection.js';
import { RedisBroker } from './broker/redis/redis-broker.js';
import { ClosedError, InvalidStateError } from './errors.js';
import type { LifecycleEvents } from './events.js';
import { DEFAULT_PREFIX, validatePrefix, type TaskqOptions } from './options.js';
import { JSON_CODEC, type PayloadCodec } from './payload-codec.js';

type Listener = (...args: unknown[]) => void;

/**
 * @internal For tests and embedding: a broker to use instead of the one `connection` describes (a fault-injecting
 * double, or a broker shared by several objects). It is not closed by the object.
 */
export interface BrokerInternals {
  broker?: Broker;
}

/**
 * The lifecycle the four public classes (TaskClient, TaskWorker, TaskScheduler, TaskInspector) share: the options
 * every one takes are validated in the constructor, the broker is connected (or the caller's connection adopted,
 * never closed by us), connection status and errors are reported through `on('status' | 'error')` the same way on
 * all of them, and `close` releases only what the object created.
 */
export abstract class TaskqLifecycle<E extends { [K in keyof E]: unknown[] } & LifecycleEvents = LifecycleEvents> {
  /** The broker every operation goes through. */
  protected readonly broker: Broker;
  /** The payload codec. */
  protected readonly codec: PayloadCodec;
  /** This object's event emitter; `error` always has a listener, so an unobserved error is dropped, not thrown. */
  protected readonly events = new EventEmitter();
  private closed = false;
  private readonly ownsBroker: boolean;

  /**
   * @param what names the class in ClosedError messages (`TaskClient`)
   * @param role names the connections it creates (`taskq:client`)
   * @throws InvalidOptionError for an invalid prefix
   */
  protected constructor(
    options: TaskqOptions & BrokerInternals,
    private readonly what: string,
    role: string,
  ) {
    const prefix = validatePrefix(options.prefix ?? DEFAULT_PREFIX);
    this.codec = options.codec ?? JSON_CODEC;
    this.ownsBroker = options.broker === undefined;
    this.broker = options.broker ?? openBroker(options.connection, prefix, role);
    this.events.on('error', () => undefined);
    this.broker.on('status', (status) => this.events.emit('status', status));
    this.broker.on('error', (err) => this.onBrokerError(err));
  }

  /** The command connection (yours if you passed an instance in). */
  get redis(): RedisClient {
    if (this.broker instanceof RedisBroker) return this.broker.client;
    throw new InvalidStateError(`${this.what} does not use Redis (connection ${this.broker.address})`);
  }

  /** True while the connection can carry commands now. */
  get isReady(): boolean {
    return this.broker.isReady;
  }

  /** The key prefix. */
  get prefix(): string {
    return this.broker.prefix;
  }

  /** Subscribes to an event. */
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.events.on(event, listener as unknown as Listener);
    return this;
  }

  /** Removes an event listener. */
  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.events.off(event, listener as unknown as Listener);
    return this;
  }

  /** True once closed. */
  protected get isClosed(): boolean {
    return this.closed;
  }

  /** @throws ClosedError once closed. */
  protected assertOpen(): void {
    if (this.closed) throw new ClosedError(this.what);
  }

  /** Marks the object closed; true the first time (the caller then releases what it holds). */
  protected markClosed(): boolean {
    if (this.closed) return false;
    this.closed = true;
    return true;
  }

  /** Closes the broker's connections that this object created (a broker passed in stays open). */
  protected async closeBroker(): Promise<void> {
    if (this.ownsBroker) await this.broker.close();
  }

  /** Where the broker's connection errors go; the worker reports them only while it runs. */
  protected onBrokerError(err: Error): void {
    this.events.emit('error', err);
  }
}
