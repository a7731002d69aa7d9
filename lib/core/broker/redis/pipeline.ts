import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './connection.js';

/** One reply of a named pipeline: the value, or the error of that command alone. */
export type NamedReply = { ok: true; value: unknown } | { ok: false; error: Error };

/**
 * Sends one pipeline of named commands and returns the replies by name, so a reader never counts positions.
 * `commands` maps each name to a function that queues exactly one command.
 */
export async function namedPipeline<N extends string>(
  client: RedisClient,
  commands: Record<N, (p: ChainableCommander) => unknown>,
): Promise<Record<N, NamedReply>> {
  const pipeline = client.pipeline();
  const names = Object.keys(commands) as N[];
  for (const name of names) commands[name](pipeline);
  const replies = (await pipeline.exec()) ?? [];
  const out = {} as Record<N, NamedReply>;
  names.forEach((name, i) => {
    const [error, value] = replies[i] ?? [new Error('no reply'), null];
    out[name] = error ? { ok: false, error } : { ok: true, value };
  });
  return out;
}

/** The value of a named reply; throws the command's own error. */
export function valueOf(reply: NamedReply): unknown {
  if (!reply.ok) throw reply.error;
  return reply.value;
}
