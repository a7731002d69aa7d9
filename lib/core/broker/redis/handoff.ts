import type { Handoff } from '../broker.js';

/**
 * The wire form of a hand-off: a task that an enqueue leased for an idle worker and put in the queue's wake set, so
 * the worker's BZPOPMIN returns the task itself (one hop from the producer to the handler instead of two).
 *
 * `h<id length>:<id><lease score>:<message>`, the same bytes as scripts/includes/handoff.lua builds (enqueue.lua)
 * and parses (dequeue.lua, recover.lua, cancel.lua). The lease score of a hand-off is a whole number of ms:
 * worker-written scores always carry a tag fraction, so a whole score tells "leased by a hand-off, not yet taken over
 * by the worker running it".
 */

/** The first character of every hand-off member (markers are the single characters `p` and `d`). */
const HANDOFF_PREFIX = 'h';

/** Builds the wake-set member of a hand-off (the same bytes the Lua scripts build). */
export function handoffMember(h: Handoff): string {
  return `${HANDOFF_PREFIX}${h.id.length}:${h.id}${h.leaseScore}:${h.message}`;
}

/** Parses a hand-off member; undefined when `member` is not a well-formed one. */
export function parseHandoff(member: string): Handoff | undefined {
  if (!member.startsWith(HANDOFF_PREFIX)) return undefined;
  const colon = member.indexOf(':', 1);
  if (colon < 0) return undefined;
  const idLength = Number(member.slice(1, colon));
  if (!Number.isInteger(idLength) || idLength <= 0) return undefined;
  const idEnd = colon + 1 + idLength;
  const scoreEnd = member.indexOf(':', idEnd);
  if (scoreEnd < 0) return undefined;
  const leaseScore = member.slice(idEnd, scoreEnd);
  if (!/^\d+$/.test(leaseScore)) return undefined;
  return { id: member.slice(colon + 1, idEnd), leaseScore, message: member.slice(scoreEnd + 1) };
}
