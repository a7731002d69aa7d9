import { randomFillSync } from 'node:crypto';

const ID_BYTES = 12;
const POOL_IDS = 512;
const pool = Buffer.alloc(ID_BYTES * POOL_IDS);
let offset = pool.length;

/**
 * A new task id: 16 characters of base64url from 96 random bits. Short on purpose (ids are stored several times per
 * task); random bytes are drawn in blocks because one crypto call per id is measurably slow at 100k ids/s.
 */
export function newTaskId(): string {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}
