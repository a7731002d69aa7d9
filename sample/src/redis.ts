// The sample finds Redis as the tests do: REDIS_URL, else 127.0.0.1:6379, else a throwaway redis-server.
export { findOrStartRedis as findRedis, type FoundRedis as SampleRedis } from '../../tools/redis-process.js';
