/** A pluggable payload encoder: turns a payload into a JSON value and back. JSON is the default. */
export interface PayloadCodec {
  /** Turns a payload into a value `JSON.stringify` can encode. */
  encode(payload: unknown): unknown;
  /** Turns the stored JSON value back into a payload. */
  decode(encoded: unknown): unknown;
}

/** The default codec: payloads are stored as they are (JSON). */
export const JSON_CODEC: PayloadCodec = { encode: (p) => p, decode: (e) => e };
