/**
 * Recognises "the database cannot be reached" among driver errors (postgres.js, wrapped by
 * Drizzle), so an outage answers 503 UNAVAILABLE with Retry-After rather than a 500.
 */
import { ScaleError } from '../errors.ts'
import { DATABASE_DOWN } from './outage-gate.ts'

/** How long a client is told to wait before retrying while the database is down. */
export const DATABASE_RETRY_AFTER_S = 2

// postgres.js connection errors, and Node/Bun socket errors it passes on.
const CONNECTION_CODES = new Set([
  DATABASE_DOWN,
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * SQLSTATEs that mean the server is going away or not accepting work: class 08 (connection
 * exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too
 * many connections), 57014 (statement timeout: the query bound set in db/open.ts).
 */
const unavailableState = (state: string) => state.startsWith('08') || /^57P0[123]$/.test(state) || state === '53300' || state === '57014'

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** The 503 for a database error that means the database is out of reach, or undefined for any other error. */
export function databaseUnavailable(e: unknown): ScaleError | undefined {
  // Drizzle wraps the driver's error as `cause`; a few levels cover every wrapper seen.
  for (let cur = e, depth = 0; cur && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = codeOf(cur)
    if (!code) continue
    if (CONNECTION_CODES.has(code) || unavailableState(code)) {
      return new ScaleError('UNAVAILABLE', `the database is unavailable (${code}); retry in ${DATABASE_RETRY_AFTER_S} s`, {
        cause: e,
        headers: { 'retry-after': String(DATABASE_RETRY_AFTER_S) },
      })
    }
  }
  return undefined
}
