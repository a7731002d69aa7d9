// nestjs-taskq/testing (README.md: "Testing your app"): TaskqTestingModule and TaskqTestHarness run an app's tasks on
// an in-memory store with a simulated clock, through its real TaskqServer. Never imported by the main entry points.
export { TaskqTestingModule, type TaskqTestingOptions, type OverridableModuleBuilder } from './testing.module.js';
export { TaskqTestHarness, type DrainedTask, type DrainOptions } from './test-harness.js';
export { DEFAULT_MAX_DRAIN_TASKS } from './drain.js';
export { DrainLimitError } from '../core/errors.js';
export { SimulatedClock } from '../core/clock.js';
