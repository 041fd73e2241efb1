/**
 * What a slot value must have, checked when a plugin's slots are wired: a plugin returning
 * `rateLimit: {}` fails at start-up, naming the plugin and the missing methods, instead of
 * answering 500 on the first limited request.
 */
import { ScaleError, quote } from '../errors.ts'
import type { SlotName, Slots } from '../ports/index.ts'

type Methods<T> = { [K in keyof T]-?: NonNullable<T[K]> extends (...args: never[]) => unknown ? K : never }[keyof T]
type Required<T> = { [K in keyof T]-?: undefined extends T[K] ? never : K }[keyof T]

/** The methods each port requires (optional ones, such as `stop`, are left out). */
export const SLOT_METHODS: { [S in SlotName]: readonly (Methods<Slots[S]> & Required<Slots[S]>)[] } = {
  session: ['get', 'patch', 'delete', 'acquireLock', 'releaseLock', 'extendLock', 'getBuffer', 'appendTurns', 'setSummary', 'clearBuffer'],
  rateLimit: ['consume', 'reset'],
  cache: ['get', 'set', 'wrap', 'delete', 'invalidate'],
  dbPool: ['stats', 'close'],
  llmDispatch: ['start', 'submit', 'get', 'events', 'cancel', 'stats', 'stop'],
  dbRouter: ['write', 'read', 'wrote'],
}

/** Throws `PLUGIN_INVALID` when `value` lacks a method the `slot` port requires. */
export function checkSlotShape(plugin: string, slot: SlotName, value: unknown): void {
  if (typeof value !== 'object' || value === null) {
    throw new ScaleError(
      'PLUGIN_INVALID',
      `plugin ${quote(plugin)} returned ${quote(value)} for the ${slot} slot; expected an object with ${SLOT_METHODS[slot].join(', ')}`,
    )
  }
  const missing = SLOT_METHODS[slot].filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function')
  if (missing.length) {
    throw new ScaleError(
      'PLUGIN_INVALID',
      `plugin ${quote(plugin)} returned a ${slot} slot without ${missing.map((m) => `${m}()`).join(', ')}; the ${slot} port needs ${SLOT_METHODS[slot].join(', ')} (see its conformance suite in scale-runtime/testing)`,
    )
  }
}
