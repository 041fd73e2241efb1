/**
 * HTTP caching of the core's GET reads: a strong ETag over the JSON body, `Cache-Control:
 * private, no-cache` (a client or CDN keeps it, and revalidates every time) and `Vary:
 * Authorization` (one user's copy is never another's). `If-None-Match` with the current tag
 * answers 304 with no body.
 */
import { createHash } from 'node:crypto'

interface Rendered {
  json: string
  etag: string
}

// Keyed by the value object: a cache hit returns the same object, so its body is serialised
// and hashed once per entry, not once per request.
const rendered = new WeakMap<object, Rendered>()

function render(value: object): Rendered {
  let r = rendered.get(value)
  if (r === undefined) {
    const json = JSON.stringify(value)
    r = { json, etag: `"${createHash('sha1').update(json).digest('base64url')}"` }
    rendered.set(value, r)
  }
  return r
}

/** Whether an If-None-Match header value names `etag` (a list, `*`, or a weak form of it). */
export function matchesEtag(header: string | null | undefined, etag: string): boolean {
  if (!header) return false
  if (header.trim() === '*') return true
  return header.split(',').some((t) => {
    const tag = t.trim()
    return tag === etag || tag === `W/${etag}`
  })
}

/**
 * The response for a cacheable read: 304 when `ifNoneMatch` names the value's tag, else
 * 200 with the JSON body. Headers already set on the context (rate limits, request id) are
 * added by the caller's framework.
 *
 * @example
 * .get('/me', async ({ user, headers, set }) => cachedJson(await users.get(user.userId), headers['if-none-match'], set.headers))
 */
export function cachedJson(value: object, ifNoneMatch: string | null | undefined, extra: Record<string, unknown> = {}): Response {
  const { json, etag } = render(value)
  const headers = new Headers()
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) headers.set(k, String(v))
  headers.set('etag', etag)
  headers.set('cache-control', 'private, no-cache')
  headers.set('vary', 'Authorization')
  if (matchesEtag(ifNoneMatch, etag)) return new Response(null, { status: 304, headers })
  headers.set('content-type', 'application/json')
  return new Response(json, { status: 200, headers })
}
