import 'reflect-metadata';
import { inject } from 'vitest';

process.env.REDIS_URL = inject('redisUrl');
process.env.TASKQ_CORE_DIST = inject('coreDist');
