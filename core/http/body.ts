/**
 * Request bodies: JSON only, read with a byte cap and checked in one scan (nesting depth, NUL
 * characters) before `JSON.parse`, so the cost of any body within `server.bodyLimit` is bounded.
 *
 * A refused body does not fail the parse step: Elysia parses before any route hook runs, so a
 * parse error would skip the guard and cost the caller nothing. The parser answers a marker
 * instead and leaves the error on the request's context (`refusedBody`); the guard charges
 * the caller first, then the marker fails the body schema (or, on a route without one, the
 * error is thrown before the handler).
 */
import { type AnyElysia, Elysia } from 'elysia'
import { ScaleError } from '../errors.ts'

/** The deepest nesting of arrays and objects a JSON body may have (ours need 5). */
export const MAX_JSON_DEPTH = 32

const QUOTE = 34
const BACKSLASH = 92
const OPEN = [91, 123] // [ {
const CLOSE = [93, 125] // ] }

export const tooLarge = (limit: number, size?: number | string) =>
  new ScaleError(
    'PAYLOAD_TOO_LARGE',
    `the request body is ${size === undefined ? 'over the limit' : `${size} bytes`}; the limit is ${limit}`,
  )

const tooDeep = (maxDepth: number) => new ScaleError('VALIDATION_FAILED', `the JSON is nested deeper than ${maxDepth} levels; flatten it`)
const nulRefused = () =>
  new ScaleError(
    'VALIDATION_FAILED',
    'strings may not contain the NUL character (\\u0000); remove it (text is stored in PostgreSQL, which cannot hold it)',
  )

export interface JsonLimits {
  /** Deepest nesting of arrays and objects. @default MAX_JSON_DEPTH */
  maxDepth?: number
  /** Accept the escape `\u0000` in strings (PostgreSQL text cannot hold it). @default false */
  allowNul?: boolean
}

/**
 * Check nesting depth and NUL escapes in one pass over the raw text, counting brackets
 * outside strings, so a 40 KB body of 20,000 `[` costs a scan, not a recursion.
 */
export function scanJson(text: string, { maxDepth = MAX_JSON_DEPTH, allowNul = false }: JsonLimits = {}): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) {
        if (!allowNul && text.charCodeAt(i + 1) === 117 && text.startsWith('0000', i + 2)) {
          throw nulRefused()
        }
        i++
      } else if (c === QUOTE) inString = false
    } else if (c === QUOTE) inString = true
    else if (c === OPEN[0] || c === OPEN[1]) {
      if (++depth > maxDepth) throw tooDeep(maxDepth)
    } else if (c === CLOSE[0] || c === CLOSE[1]) depth--
  }
}

/**
 * The same checks on a value something else already parsed (Elysia parses WebSocket frames
 * before handing them over): an iterative walk, so depth costs no stack.
 */
export function checkParsed(value: unknown, { maxDepth = MAX_JSON_DEPTH, allowNul = false }: JsonLimits = {}): void {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length) {
    const [v, depth] = stack.pop()!
    if (typeof v === 'string') {
      if (!allowNul && v.includes('\u0000')) throw nulRefused()
    } else if (v && typeof v === 'object') {
      if (depth + 1 > maxDepth) throw tooDeep(maxDepth)
      for (const [k, child] of Object.entries(v)) stack.push([k, depth + 1], [child, depth + 1])
    }
  }
}

/** `scanJson`, then `JSON.parse`; every failure is a `VALIDATION_FAILED` error. */
export function parseJson(text: string, limits: JsonLimits = {}): unknown {
  scanJson(text, limits)
  try {
    return JSON.parse(text)
  } catch {
    throw new ScaleError('VALIDATION_FAILED', 'the request body is not valid JSON; send JSON with Content-Type: application/json')
  }
}

/**
 * The body as text, refusing with 413 past `limit` bytes. A declared Content-Length is
 * checked before reading (the HTTP parser reads no more than it); a chunked body is read
 * chunk by chunk and the read stops at the limit.
 */
export async function readBody(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get('content-length')
  if (declared !== null) {
    if (Number(declared) > limit) throw tooLarge(limit, declared)
    return request.text()
  }
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      void reader.cancel().catch(() => {})
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  const all = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    all.set(c, at)
    at += c.byteLength
  }
  return new TextDecoder().decode(all)
}

const isJson = (contentType: string) => contentType === '' || contentType === 'application/json' || contentType.endsWith('+json')

/** Marks a refused body; fails every body schema (a symbol is no object, string or number). */
const REFUSED = Symbol('refused body')
/** Marks an empty body; turned back into `undefined` before validation. */
const EMPTY = Symbol('empty body')

/** What the parser leaves on Elysia's per-request context when it refuses a body. */
export interface BodyRefusal {
  refusedBody?: ScaleError
}

// The two hooks after the parser, by name so that `trimBodyHooks` can find them.
function emptyBodyIsUndefined(ctx: { body?: unknown }): void {
  if (ctx.body === EMPTY) ctx.body = undefined
}
function throwRefusedBody(ctx: object): void {
  const refused = (ctx as BodyRefusal).refusedBody
  if (refused) throw refused
}

/**
 * The JSON body parser for every route mounted after it (`as: 'global'`), except the paths in
 * `ownParsers`: routes that read their body themselves (with `parse: 'none'`; a global parse
 * hook would run before that and use the body up). A refused body's error rides on the
 * request's context (`refusedBody`) to the hook that throws it, or to the error handler.
 *
 * @example
 * new Elysia().use(jsonBodies({ bodyLimit: 1 << 20 })).post('/x', ({ body }) => body, { body: t.Object({}) })
 */
export function jsonBodies({ bodyLimit, ownParsers = [] }: { bodyLimit: number; ownParsers?: string[] }) {
  const skip = new Set(ownParsers)
  return new Elysia({ name: 'scale-json-bodies' })
    .onParse({ as: 'global' }, async (ctx, contentType) => {
      const { request, path } = ctx
      // Always an answer, so that no other parser runs (for `ownParsers`, the body is left unread).
      if (!request.body || skip.has(path)) return EMPTY
      try {
        const text = await readBody(request, bodyLimit)
        if (text === '') return EMPTY
        if (!isJson(contentType)) {
          throw new ScaleError('UNSUPPORTED_MEDIA_TYPE', `bodies are JSON; got Content-Type ${JSON.stringify(contentType.slice(0, 80))}`)
        }
        return parseJson(text)
      } catch (e) {
        ;(ctx as BodyRefusal).refusedBody =
          e instanceof ScaleError ? e : new ScaleError('VALIDATION_FAILED', 'the request body could not be read')
        return REFUSED
      }
    })
    .onTransform({ as: 'global' }, emptyBodyIsUndefined)
    .onBeforeHandle({ as: 'global' }, throwRefusedBody)
}

type HookList = { fn?: unknown }[] | undefined

/**
 * Take the two hooks that follow the parser off the routes of `app` whose method has no body
 * (GET, HEAD): Elysia never parses a body for them, so the hooks could only ever do nothing,
 * and they would run on every request of the busiest routes. Call once all routes are mounted.
 */
export function trimBodyHooks(app: AnyElysia): void {
  for (const route of app.routes) {
    if (route.method !== 'GET' && route.method !== 'HEAD') continue
    const hooks = route.hooks as { transform?: HookList; beforeHandle?: HookList } | undefined
    if (!hooks) continue
    if (Array.isArray(hooks.transform)) hooks.transform = hooks.transform.filter((h) => h.fn !== emptyBodyIsUndefined)
    if (Array.isArray(hooks.beforeHandle)) hooks.beforeHandle = hooks.beforeHandle.filter((h) => h.fn !== throwRefusedBody)
  }
}

/**
 * Tell the OpenAPI generator that bodies are JSON: it reads the content type from a route's
 * named parsers and skips function ones like `jsonBodies`, which would leave every request
 * body without a content type. The added `json` never runs: `jsonBodies` always answers first.
 */
export function documentJsonBodies(app: AnyElysia): void {
  for (const route of app.routes) {
    const hooks = route.hooks as { body?: unknown; parse?: unknown } | undefined
    if (!hooks?.body) continue
    const parse = Array.isArray(hooks.parse) ? hooks.parse : hooks.parse ? [hooks.parse] : []
    if (parse.some((p) => typeof p === 'string' || typeof (p as { fn?: unknown }).fn === 'string')) continue
    hooks.parse = [...parse, { fn: 'json' }]
  }
}
