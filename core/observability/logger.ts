/** Structured JSON logs (pino), one line per event, with the request id where there is one. */
import pino, { type Logger } from 'pino'
import { createLogDestination } from './log-destination.ts'

export type { Logger }

/**
 * @param level pino level (`'info'`, `'silent'`, ...)
 * @param destination where lines go (tests capture them). By default stdout, written without
 *   blocking (log-destination.ts): a busy request path never waits on the terminal or the log
 *   collector. Await {@link flushLogs} before the process exits.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'scale-runtime' }, timestamp: pino.stdTimeFunctions.isoTime, serializers: { err: safeError } },
    destination ?? createLogDestination(),
  )
}

/** Write out every line still queued (a clean stop must lose none); resolves once written. */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve())
    } catch {
      resolve()
    }
  })
}

/** SQLSTATE-style codes (PostgreSQL, PGlite). */
const SQLSTATE = /^[0-9A-Z]{5}$/
/** Quoted parts of a database message, which can be values ("invalid input syntax for type uuid: "…""). */
const QUOTED = /"[^"]*"/g

/**
 * An error as a log field, without what a query carried: a failed query is logged with its
 * SQL text and the database's error code, never its parameters (emails, password hashes,
 * message content), and database messages lose their quoted values. Other errors keep
 * type, message, code and stack.
 */
export function safeError(e: unknown, depth = 0): unknown {
  if (!(e instanceof Error)) return e
  const out: Record<string, unknown> = { type: e.name || e.constructor?.name }
  const x = e as Error & Record<string, unknown>
  if (typeof x.query === 'string' && 'params' in x) {
    // drizzle's DrizzleQueryError: its message and stack quote the parameters.
    out.message = 'query failed'
    out.sql = x.query
    out.stack = e.stack
      ?.split('\n')
      .filter((l) => l.trimStart().startsWith('at '))
      .join('\n')
  } else if (typeof x.code === 'string' && SQLSTATE.test(x.code) && ('severity' in x || 'routine' in x)) {
    out.message = e.message.replace(QUOTED, '"…"')
    for (const k of ['code', 'severity', 'table', 'column', 'constraint', 'routine'] as const) if (x[k] !== undefined) out[k] = x[k]
  } else {
    out.message = e.message
    if (x.code !== undefined) out.code = x.code
    out.stack = e.stack
  }
  if (e.cause !== undefined && depth < 4) out.cause = safeError(e.cause, depth + 1)
  return out
}
