/**
 * Validation errors whose cost does not grow with the request. Elysia's ValidationError
 * builds its message by pretty-printing the whole value (1.5 s for an 800 KB body, a stack
 * overflow for deep ones) unless the failing schema carries an `error` of its own; every
 * request schema gets one here, and the message the client sees is written from the first
 * error only, quoting at most a short scalar and never a secret.
 */
import type { AnyElysia, ValidationError } from 'elysia'

const KIND = Symbol.for('TypeBox.Kind')
const MARKER = 'invalid request'
const PARTS = ['body', 'query', 'params', 'headers', 'cookie'] as const

/** Fields whose values are never quoted back, in messages or anywhere else. */
const SECRET = /password|token|secret|authorization/i

/** Give every request schema of every route of `app` a fixed `error` (hidden from the OpenAPI document). */
export function boundValidationErrors(app: AnyElysia): void {
  const seen = new Set<object>()
  for (const route of app.routes) {
    const hooks = route.hooks as Record<string, unknown> | undefined
    for (const part of PARTS) mark(hooks?.[part], seen)
  }
}

function mark(schema: unknown, seen: Set<object>): void {
  if (!schema || typeof schema !== 'object' || seen.has(schema)) return
  seen.add(schema)
  if (KIND in schema && !Object.hasOwn(schema, 'error')) {
    Object.defineProperty(schema, 'error', { value: MARKER, enumerable: false, configurable: true })
  }
  for (const v of Object.values(schema)) mark(v, seen)
}

interface FirstError {
  type: number
  path: string
  message: string
  value: unknown
  schema?: { format?: string }
}

// TypeBox's ValueErrorType numbers for the cases worded here.
const ADDITIONAL = 42
const REQUIRED = 45
const FORMAT = 50

/** `body.title: Expected string; got 12`, from the first error only. */
export function validationMessage(e: ValidationError): string {
  const first = (e as unknown as { valueError?: FirstError }).valueError
  if (!first) return `${e.type} is not valid`
  const where = `${e.type}${first.path.replaceAll('/', '.')}`
  if (first.type === REQUIRED) return `${where}: is missing`
  if (first.type === ADDITIONAL) return `${where}: is not accepted here (unknown field)`
  const what = first.type === FORMAT && first.schema?.format ? `should be ${first.schema.format}` : first.message
  const got = SECRET.test(first.path) ? undefined : preview(first.value)
  return got === undefined ? `${where}: ${what}` : `${where}: ${what}; got ${got}`
}

/** A short, bounded look at a value: scalars quoted (strings cut), containers only named. */
export function preview(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
    case 'number':
    case 'boolean':
      return String(value)
    case 'object':
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object'
    default:
      return undefined
  }
}
