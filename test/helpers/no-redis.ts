import { createServer, type Server } from 'node:net';

/**
 * Points REDIS_URL at a port where no Redis answers, and counts every attempt to connect there: a listener that drops
 * each connection at once (to a client it looks like a dead port). A test that ends with `connections === 0` proves
 * that nothing tried to reach Redis, not even the defaults that read REDIS_URL.
 */
export async function pointRedisUrlNowhere(): Promise<{ readonly connections: number; restore(): Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const previous = process.env.REDIS_URL;
  process.env.REDIS_URL = `redis://127.0.0.1:${address.port}`;
  return {
    get connections() {
      return connections;
    },
    async restore() {
      process.env.REDIS_URL = previous;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
