/**
 * Turns the document generated from the route schemas into one a client generator can
 * trust: security on every operation, error answers with the error schema and the
 * rate-limit headers, summaries, OpenAPI 3.1 null types instead of 3.0's `nullable`,
 * paths as the router matches them, and `servers`.
 */
import { headers, rateLimitHeaders, responses, schemas, securitySchemes, statusOf, type ErrorResponse } from './components.ts'
import { operationNotes } from './operations.ts'

type Json = Record<string, any>

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'] as const

const TAGS = [
  { name: 'auth', description: 'Accounts and bearer tokens' },
  { name: 'conversations', description: 'Conversations and their messages' },
  { name: 'chat', description: 'Chat turns: reply jobs and their event streams' },
  { name: 'sync', description: 'Delta sync for offline clients' },
  { name: 'gateway', description: 'The Anthropic-compatible Messages API' },
  { name: 'admin', description: "The runtime's status, for admins" },
  { name: 'operations', description: 'Health probes and metrics' },
]

export interface FinishOptions {
  title: string
  version: string
  /** Where the API is served; `/` (this server) by default. */
  serverUrl?: string
}

/**
 * `/v1/ws` is served by the runtime adapter before Elysia's router (the same socket route on
 * Bun and Deno), so the generator never sees it; it is written here, and finished like the rest.
 */
const SOCKET_PATH: Json = {
  '/v1/ws': {
    get: {
      operationId: 'getV1Ws',
      tags: ['chat'],
      parameters: [{ name: 'token', in: 'query', required: false, schema: { type: 'string', maxLength: 4096 } }],
      responses: {},
    },
  },
}

/** The gateway answers errors in Anthropic's shape, with its statuses (529 for overloaded). */
const GATEWAY = { path: '/v1/messages', statuses: ['400', '401', '429', '500', '529'] }

export function finishDocument(raw: Json, opts: FinishOptions): Json {
  const doc: Json = structuredClone(raw)
  doc.info = { ...doc.info, title: opts.title, version: opts.version, description: doc.info?.description ?? 'scale-runtime HTTP API (v1)' }
  doc.servers = [{ url: opts.serverUrl ?? '/', description: 'this runtime' }]
  doc.security = [{ bearerAuth: [] }]
  doc.tags = TAGS.filter((t) => JSON.stringify(doc.paths).includes(`"${t.name}"`))
  doc.paths = normalizePaths({ ...SOCKET_PATH, ...doc.paths })
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const method of METHODS) if (item[method]) finishOperation(method, path, item[method])
  }
  doc.components = {
    ...doc.components,
    schemas: { ...doc.components?.schemas, ...schemas },
    securitySchemes: { ...doc.components?.securitySchemes, ...securitySchemes },
    headers: { ...doc.components?.headers, ...headers },
    responses: { ...doc.components?.responses, ...responses },
  }
  return normalizeSchemas(doc)
}

/** `/v1/conversations/` is served as `/v1/conversations`; a WebSocket route is a GET that upgrades. */
function normalizePaths(paths: Json): Json {
  const out: Json = {}
  for (const [path, item] of Object.entries<Json>(paths)) {
    const clean = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
    const merged: Json = { ...out[clean], ...item }
    if (merged.ws) {
      merged.get ??= { ...merged.ws, operationId: merged.ws.operationId?.replace(/^ws/, 'get') }
      delete merged.ws
    }
    out[clean] = merged
  }
  return out
}

function finishOperation(method: string, path: string, op: Json): void {
  const notes = operationNotes[`${method.toUpperCase()} ${path}`] ?? {}
  op.summary ??= notes.summary
  op.description ??= notes.description
  op.responses ??= {}
  for (const [status, response] of Object.entries(notes.responses ?? {})) op.responses[status] ??= response
  for (const r of Object.values<Json>(op.responses)) {
    if (r.description?.startsWith('Response for status')) r.description = 'Success'
  }

  if (path === GATEWAY.path) {
    op.security = [{ apiKey: [] }, { bearerAuth: [] }]
    for (const status of GATEWAY.statuses) op.responses[status] ??= { $ref: '#/components/responses/AnthropicError' }
    return
  }

  const group: string | undefined = op['x-rate-limit-group']
  op.security ??= notes.security ?? []
  if (group) {
    for (const [status, r] of Object.entries<Json>(op.responses)) {
      if (status.startsWith('2') && !r.$ref) r.headers = { ...rateLimitHeaders, ...r.headers }
    }
  }
  const params: Json[] = op.parameters ?? []
  const errors = new Set<ErrorResponse>(notes.errors)
  if (params.length > 0 || op.requestBody) errors.add('BadRequest')
  if (params.some((p) => p.in === 'path')) errors.add('NotFound')
  if (op.requestBody) errors.add('PayloadTooLarge')
  if (op.security.length > 0) errors.add('Unauthorized')
  if (group) {
    errors.add('RateLimited')
    errors.add('Unavailable')
  }
  for (const e of errors) {
    if (e === 'AnthropicError') continue
    op.responses[statusOf[e]] ??= { $ref: `#/components/responses/${e}` }
  }
}

/**
 * Schemas as JSON Schema 2020-12 says them, which is what OpenAPI 3.1 uses:
 * - a value that may be null lists `null` among its types (the generator writes 3.0's
 *   `nullable: true`, which 3.1 does not have);
 * - a number the server also accepts as a numeric string is generated as
 *   `anyOf: [{ type: 'string', format: 'integer' }, { type: 'integer' }]`; `integer` is no
 *   JSON Schema format, and answers always carry the number, so the number alone is kept.
 */
function normalizeSchemas(node: any): any {
  if (Array.isArray(node)) return node.map(normalizeSchemas)
  if (!node || typeof node !== 'object') return node
  let out: Json = {}
  for (const [k, v] of Object.entries(node)) if (k !== 'nullable') out[k] = normalizeSchemas(v)
  if (Array.isArray(out.anyOf)) {
    const numeric = (s: Json) => s.type === 'string' && (s.format === 'integer' || s.format === 'number' || s.format === 'numeric')
    const kept = out.anyOf.filter((s: Json) => !numeric(s))
    if (kept.length === 1 && kept.length < out.anyOf.length) {
      const { anyOf: _, ...rest } = out
      out = { ...rest, ...kept[0] }
    }
  }
  if (node.nullable !== true) return out
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'] }
  if (Array.isArray(out.type)) return { ...out, type: [...new Set([...out.type, 'null'])] }
  if (Array.isArray(out.anyOf)) return { ...out, anyOf: [...out.anyOf, { type: 'null' }] }
  return { anyOf: [out, { type: 'null' }] }
}
