import { systemClock, type Clock } from '../../clock.js';
import { InvalidOptionError } from '../../errors.js';
import { MemoryStore } from './store.js';

/** The scheme of the in-memory backend's connection strings. */
export const MEMORY_SCHEME = 'memory://';
/** The store `memory://` names. */
export const DEFAULT_STORE = 'default';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const ALLOWED =
  "expected memory:// (the store named 'default') or memory://NAME, NAME being 1 to 64 characters of A-Z a-z 0-9 _ . -";

/** The process-wide stores, by name: every broker opened on `memory://NAME` shares one. */
const stores = new Map<string, MemoryStore>();

/** True for a connection option that names the in-memory backend (any string starting `memory:`). */
export function isMemoryConnection(connection: unknown): connection is string {
  return typeof connection === 'string' && connection.startsWith('memory:');
}

/**
 * The store name of a `memory://` connection string.
 * @throws InvalidOptionError naming `connection` for anything but `memory://` or `memory://NAME`
 */
export function memoryStoreName(connection: string): string {
  if (!connection.startsWith(MEMORY_SCHEME)) {
    throw new InvalidOptionError('connection', `got ${JSON.stringify(connection)}; ${ALLOWED}`);
  }
  const name = connection.slice(MEMORY_SCHEME.length);
  if (name === '') return DEFAULT_STORE;
  if (!NAME.test(name)) throw new InvalidOptionError('connection', `got ${JSON.stringify(connection)}; ${ALLOWED}`);
  return name;
}

/** The store a `memory://` connection string names, created (on the system clock) on first use. */
export function openMemoryStore(connection: string): MemoryStore {
  const name = memoryStoreName(connection);
  let store = stores.get(name);
  if (!store) {
    store = new MemoryStore(name, systemClock);
    stores.set(name, store);
  }
  return store;
}

/**
 * Creates a store under a new name with its own clock (the testing kit gives each app one with a SimulatedClock).
 * @throws InvalidOptionError when a store of that name exists already, or the name is invalid
 */
export function createMemoryStore(name: string, clock: Clock = systemClock): MemoryStore {
  memoryStoreName(`${MEMORY_SCHEME}${name}`);
  if (stores.has(name)) throw new InvalidOptionError('name', `a memory store named "${name}" exists already`);
  const store = new MemoryStore(name, clock);
  stores.set(name, store);
  return store;
}

/** The store of a connection string if it exists (never creates one). */
export function findMemoryStore(connection: string): MemoryStore | undefined {
  return stores.get(memoryStoreName(connection));
}

/** Forgets a store: brokers opened on its name later get a new, empty one. Brokers open on it keep working. */
export function dropMemoryStore(store: MemoryStore): void {
  if (stores.get(store.name) === store) stores.delete(store.name);
}
