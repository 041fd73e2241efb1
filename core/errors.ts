/**
 * Coded errors. Every error the runtime raises on purpose carries a stable `code`,
 * an HTTP `status` when it reaches a client, and a message that quotes the offending
 * value and says what would be valid.
 */

/** Codes a client can see in `{ error: { code, message } }`. */
export const HttpCodes = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  HEADERS_TOO_LARGE: 431,
  RATE_LIMITED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UPSTREAM_ERROR: 502,
  OVERLOADED: 503,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
} as const

/** Codes raised while reading config or wiring plugins: they stop the process. */
export type StartupCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'PLUGIN_INVALID'
  | 'PLUGIN_NOT_FOUND'
  | 'PLUGIN_DUPLICATE'
  | 'PLUGIN_SLOT_CONFLICT'
  | 'PLUGIN_MISSING_REQUIREMENT'
  | 'PLUGIN_CORE_INCOMPATIBLE'
  | 'PLUGIN_SETUP_FAILED'
  | 'PLUGIN_OPTIONS_INVALID'
  | 'MULTI_INSTANCE_IN_MEMORY'

export type ErrorCode = keyof typeof HttpCodes | StartupCode

/**
 * The brand every ScaleError carries. `Symbol.for` gives the same symbol in every copy of
 * this module, so an error raised by a plugin that bundles (or installs) its own copy of
 * scale-runtime is still recognised by the host, where `instanceof` would fail.
 */
const BRAND = Symbol.for('scale-runtime.ScaleError')

export class ScaleError extends Error {
  readonly [BRAND] = true
  readonly code: ErrorCode
  readonly status: number
  /** Extra response headers (for example `Retry-After`). */
  readonly headers?: Record<string, string>

  constructor(
    code: ErrorCode,
    message: string,
    opts: { status?: number; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'ScaleError'
    this.code = code
    this.status = opts.status ?? (HttpCodes as Record<string, number>)[code] ?? 500
    if (opts.headers) this.headers = opts.headers
  }

  /** `instanceof ScaleError` also holds for a ScaleError from another copy of this module. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return isScaleError(value)
  }
}

/**
 * Whether `e` is a coded error from any copy of scale-runtime: it carries the brand and a
 * string `code`. Use this (or `instanceof`, which defers to it) rather than comparing classes.
 */
export const isScaleError = (e: unknown): e is ScaleError =>
  typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true && typeof (e as { code?: unknown }).code === 'string'

/** Short helpers for the errors routes raise most. */
export const notFound = (what: string) => new ScaleError('NOT_FOUND', `${what} not found`)
export const conflict = (message: string) => new ScaleError('CONFLICT', message)
export const unauthorized = (message = 'a valid bearer token is required') =>
  new ScaleError('UNAUTHORIZED', message)

/** Quote a value for an error message: short, JSON-ish, never the whole object. */
export function quote(value: unknown): string {
  let s: string
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value)
  } catch {
    s = String(value)
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}
