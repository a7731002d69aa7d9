/**
 * The transport id of {@link TaskqServer}. `@TaskHandler` binds methods to this transport only, so a hybrid app's
 * other transports (TCP, Redis pub/sub...) never receive task handlers, and ours never receives theirs.
 */
export const TASKQ_TRANSPORT: unique symbol = Symbol('taskq');

/** Key under which `@TaskHandler` and `@PeriodicTask` store their data in a handler's Nest `extras`. */
export const TASKQ_EXTRAS_KEY = 'taskq';

/** Injection token of the options given to `TaskqModule.forRoot` / `forRootAsync`. */
export const TASKQ_MODULE_OPTIONS = Symbol('TASKQ_MODULE_OPTIONS');

/**
 * @internal The options as the app configured them; {@link TASKQ_MODULE_OPTIONS} is an alias of it that the testing
 * kit overrides (same options, in-memory connection) without losing the app's own factory.
 */
export const TASKQ_CONFIGURED_OPTIONS = Symbol('TASKQ_CONFIGURED_OPTIONS');

/** Default `source` under which a server syncs its `@PeriodicTask` entries. */
export const DEFAULT_PERIODIC_SOURCE = 'nest';

/** The message a Nest guard uses when it refuses a call (RpcException). */
export const FORBIDDEN_MESSAGE = 'Forbidden resource';
