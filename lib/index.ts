// The public surface of nestjs-taskq (API.md). The Nest layer is exported from ./nest once it lands.
export * from './core/index.js';
