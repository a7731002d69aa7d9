import type { StoredTask } from './broker/broker.js';
import { decodeMessage, type TaskMessage } from './broker/codec.js';
import { CorruptTaskError } from './errors.js';
import type { PayloadCodec } from './payload-codec.js';
import type { TaskInfo } from './task.js';

export { JSON_CODEC } from './payload-codec.js';

/** Builds the public {@link TaskInfo} of a stored task. A corrupt message yields a TaskInfo saying so. */
export function toTaskInfo(queue: string, id: string, stored: StoredTask, codec: PayloadCodec): TaskInfo {
  let message: TaskMessage;
  try {
    message = decodeMessage(stored.message);
  } catch (err) {
    if (!(err instanceof CorruptTaskError)) throw err;
    return {
      id,
      queue,
      type: '',
      payload: stored.message,
      state: stored.state,
      maxRetry: 0,
      retried: 0,
      lastError: err.message,
      headers: {},
    };
  }
  return messageToTaskInfo(queue, id, message, stored.state, stored.score, codec);
}

/** Builds a {@link TaskInfo} from a decoded message. */
export function messageToTaskInfo(
  queue: string,
  id: string,
  m: TaskMessage,
  state: TaskInfo['state'],
  score: number | undefined,
  codec: PayloadCodec,
): TaskInfo {
  // A payload the codec cannot decode must not make getTask/listTasks throw: report it raw, with the reason.
  let payload: unknown;
  let decodeError: string | undefined;
  try {
    payload = codec.decode(m.payload);
  } catch (err) {
    payload = m.payload;
    decodeError = `corrupt task message: payload cannot be decoded (${err instanceof Error ? err.message : String(err)})`;
  }
  const info: TaskInfo = {
    id,
    queue,
    type: m.type,
    payload,
    state,
    maxRetry: m.maxRetry,
    retried: m.retried,
    timeout: m.timeoutMs,
    headers: m.headers,
  };
  if (m.lastError !== undefined) info.lastError = m.lastError;
  else if (decodeError !== undefined) info.lastError = decodeError;
  if (m.lastFailedAt !== undefined) info.lastFailedAt = new Date(m.lastFailedAt);
  if (m.deadlineMs !== undefined) info.deadline = new Date(m.deadlineMs);
  if ((state === 'scheduled' || state === 'retry') && score !== undefined) info.nextProcessAt = new Date(score);
  if (m.completedAt !== undefined) info.completedAt = new Date(m.completedAt);
  if (m.result !== undefined) info.result = m.result;
  return info;
}
