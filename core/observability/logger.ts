/** Structured JSON logs (pino), one line per event, with the request id where there is one. */
import pino, { type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'scale-runtime' }, timestamp: pino.stdTimeFunctions.isoTime }, destination)
}
