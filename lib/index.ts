// The public surface of nestjs-taskq, documented in README.md (Options, Errors): the engine and the NestJS layer.
// Plain Node apps without Nest can import 'nestjs-taskq/core', which never loads @nestjs/* or rxjs.
export * from './core/index.js';
export * from './nest/index.js';
