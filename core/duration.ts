/** Durations written as typed strings (`'30 s'`, `'5 m'`, `'250 ms'`), parsed once at start-up. */
import { Type } from '@sinclair/typebox'

export type Unit = 'ms' | 's' | 'm' | 'h' | 'd'
export type Duration = `${number} ${Unit}` | `${number}${Unit}` | number

const factor: Record<Unit, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const pattern = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/

/** Milliseconds in a duration; a bare number is already milliseconds. Returns `undefined` when unparseable. */
export function parseDuration(d: unknown): number | undefined {
  if (typeof d === 'number') return Number.isFinite(d) && d >= 0 ? d : undefined
  if (typeof d !== 'string') return undefined
  const m = pattern.exec(d)
  if (!m) return undefined
  return Math.round(Number(m[1]) * factor[m[2] as Unit])
}

/** Like {@link parseDuration} but throws on a bad value (for values already validated). */
export function ms(d: Duration): number {
  const v = parseDuration(d)
  if (v === undefined) throw new TypeError(`not a duration: ${String(d)}`)
  return v
}

/**
 * A TypeBox schema for a duration option (config keys, plugin options): a string such as
 * `'30 s'` or a number of milliseconds. `description` says what it is for; errors quote it.
 */
export function durationSchema(description: string) {
  return Type.Union([Type.String({ pattern: pattern.source }), Type.Number({ minimum: 0 })], {
    description: `${description}: a duration such as '250 ms', '30 s', '5 m', '1 h' or a number of ms`,
  })
}
