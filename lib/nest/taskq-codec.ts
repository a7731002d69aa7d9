import type { Deserializer, Serializer } from '@nestjs/microservices';
import type { PayloadCodec } from '../core/options.js';

/** A Nest serializer used as the payload codec's `encode` (synchronous; returns a JSON value). */
export type TaskqSerializer = Serializer<unknown, unknown>;
/** A Nest deserializer used as the payload codec's `decode` (synchronous). */
export type TaskqDeserializer = Deserializer<unknown, unknown>;

function rejectAsync(value: unknown, what: string): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
    throw new TypeError(`${what} returned a Promise; taskq serializers and deserializers must be synchronous`);
  }
  return value;
}

/**
 * Maps Nest's `serializer` / `deserializer` options onto the core {@link PayloadCodec}: `serializer.serialize(value)`
 * is `encode` (it must return a JSON value), `deserializer.deserialize(value)` is `decode`. Both must be
 * synchronous. Give the same pair to the client and the server. Returns `codec` itself when one is given, or
 * `undefined` (the JSON default) when neither is.
 */
export function codecFromNest(options: {
  codec?: PayloadCodec;
  serializer?: TaskqSerializer;
  deserializer?: TaskqDeserializer;
}): PayloadCodec | undefined {
  if (options.codec) return options.codec;
  const serializer = options.serializer as { serialize(value: unknown): unknown } | undefined;
  const deserializer = options.deserializer as { deserialize(value: unknown): unknown } | undefined;
  if (!serializer && !deserializer) return undefined;
  return {
    encode: serializer
      ? (payload) => rejectAsync(serializer.serialize(payload), 'serializer.serialize')
      : (payload) => payload,
    decode: deserializer
      ? (encoded) => rejectAsync(deserializer.deserialize(encoded), 'deserializer.deserialize')
      : (encoded) => encoded,
  };
}
