/**
 * Recognises "Redis cannot be reached" among ioredis errors, so a Redis outage that a plugin
 * did not handle answers 503 UNAVAILABLE with Retry-After rather than a 500 (the database's
 * counterpart is core/db/errors.ts). A reply error (a script's `ERR ...`) is not an outage:
 * it stays a 500 whose details go to the log.
 */
import { ScaleError } from '../errors.ts'

/** How long a client is told to wait before retrying while Redis does not answer. */
export const REDIS_RETRY_AFTER_S = 1

// ioredis: a command past its commandTimeout, on a closed connection, or refused while offline
// (socket errors reach commands as these, never as bare codes, which other clients share).
const DOWN_MESSAGES = /^(Command timed out|Connection is closed|Stream isn't writeable)/
const DOWN_NAMES = new Set(['MaxRetriesPerRequestError'])

/** The 503 for an error that means Redis is out of reach, or undefined for any other error. */
export function redisUnavailable(e: unknown): ScaleError | undefined {
  // A wrapper may carry the client's error as `cause`.
  for (let cur = e, depth = 0; cur && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    const { name, message } = cur as { name?: unknown; message?: unknown }
    if ((typeof name === 'string' && DOWN_NAMES.has(name)) || (typeof message === 'string' && DOWN_MESSAGES.test(message))) {
      return new ScaleError('UNAVAILABLE', `Redis did not answer (${message}); retry in ${REDIS_RETRY_AFTER_S} s`, {
        cause: e,
        headers: { 'retry-after': String(REDIS_RETRY_AFTER_S) },
      })
    }
  }
  return undefined
}
