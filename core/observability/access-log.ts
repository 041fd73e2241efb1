/**
 * The access log line, one per request, written straight to the logger's destination.
 *
 * The line is exactly what `logger.info({ reqId, method, route, status, ms, userId }, 'request')`
 * writes (same fields, same order, the logger's own bindings), built by hand: every field is
 * a number or a string known to need no escaping (request ids pass `[\w.:-]`, user ids are
 * UUIDs, methods are HTTP tokens) except the route, whose JSON is made once per route. That
 * skips pino's generic serializer, its tracing channel and a `toISOString` per line, which
 * together were most of what the access log cost a request.
 */
import pino, { type Logger } from 'pino'

export interface AccessLine {
  reqId: string
  method: string
  route: string
  status: number
  ms: number
  userId?: string
}

export type AccessLog = (line: AccessLine) => void

const INFO = 30
const HTTP_TOKEN = /^[A-Z]{1,16}$/

/** A writer of access lines through `logger` (nothing is written while its level is above `info`). */
export function createAccessLog(logger: Logger): AccessLog {
  const stream = (logger as unknown as Record<symbol, { write(s: string): void }>)[pino.symbols.streamSym]!
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? ''
  const routes = new Map<string, string>()
  const quoted = (s: string) => {
    let q = routes.get(s)
    if (q === undefined) {
      q = JSON.stringify(s)
      if (routes.size < 10_000) routes.set(s, q)
    }
    return q
  }
  // The ISO time changes once per millisecond; lines within one share it.
  let lastMs = -1
  let lastIso = ''
  return (l) => {
    if (logger.levelVal > INFO) return
    const now = Date.now()
    if (now !== lastMs) {
      lastMs = now
      lastIso = new Date(now).toISOString()
    }
    const method = HTTP_TOKEN.test(l.method) ? `"${l.method}"` : JSON.stringify(l.method)
    stream.write(
      `{"level":30,"time":"${lastIso}"${bindings},"reqId":"${l.reqId}","method":${method},"route":${quoted(l.route)},"status":${l.status},"ms":${l.ms}${
        l.userId === undefined ? '' : `,"userId":"${l.userId}"`
      },"msg":"request"}\n`,
    )
  }
}
