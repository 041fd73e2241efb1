/**
 * The shared parts of the OpenAPI document: security schemes, the error schema, the
 * rate-limit headers, and one reusable response per error status.
 */

const header = (description: string, schema: object = { type: 'integer', minimum: 0 }) => ({ description, schema })

export const headers = {
  'RateLimit-Limit': header('Requests allowed in the window for this route group'),
  'RateLimit-Remaining': header('Requests left in the current window'),
  'RateLimit-Reset': header('Seconds until the window frees capacity'),
  'Retry-After': header('Seconds to wait before retrying', { type: 'integer', minimum: 1 }),
}

/** Headers every rate-limited route answers with (success and refusal alike). */
export const rateLimitHeaders = {
  'RateLimit-Limit': { $ref: '#/components/headers/RateLimit-Limit' },
  'RateLimit-Remaining': { $ref: '#/components/headers/RateLimit-Remaining' },
  'RateLimit-Reset': { $ref: '#/components/headers/RateLimit-Reset' },
}

const retryAfter = { 'Retry-After': { $ref: '#/components/headers/Retry-After' } }

const Error = {
  type: 'object',
  description: 'Every non-2xx answer (except the Anthropic-compatible gateway)',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'a stable code, e.g. VALIDATION_FAILED, NOT_FOUND, RATE_LIMITED', examples: ['NOT_FOUND'] },
        message: { type: 'string', description: 'what went wrong, for people' },
      },
    },
  },
}

/** The gateway's errors, in Anthropic's shape, so the official SDK maps them to its classes. */
const AnthropicError = {
  type: 'object',
  required: ['type', 'error'],
  properties: {
    type: { const: 'error' },
    error: {
      type: 'object',
      required: ['type', 'message'],
      properties: { type: { type: 'string', examples: ['rate_limit_error'] }, message: { type: 'string' } },
    },
  },
}

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } })
const error = (description: string, extraHeaders?: object) => ({
  description,
  ...(extraHeaders && { headers: extraHeaders }),
  content: json('Error'),
})

export const responses = {
  BadRequest: error('The request is not valid (VALIDATION_FAILED); the message names the field'),
  Unauthorized: error('No valid bearer token (UNAUTHORIZED)'),
  Forbidden: error('The user may not do this (FORBIDDEN)'),
  NotFound: error('No such resource, or it belongs to another user (NOT_FOUND)'),
  Conflict: error('Conflicts with the current state (CONFLICT)'),
  PayloadTooLarge: error('The body is over the server limit (PAYLOAD_TOO_LARGE)'),
  RateLimited: error('Over the rate limit (RATE_LIMITED); retry after Retry-After seconds', { ...retryAfter, ...rateLimitHeaders }),
  Unavailable: error(
    'Overloaded or a shared service is unavailable (OVERLOADED, UNAVAILABLE); retry after Retry-After seconds',
    retryAfter,
  ),
  AnthropicError: { description: "An error in Anthropic's shape", content: json('AnthropicError') },
}

export type ErrorResponse = keyof typeof responses

export const statusOf: Record<Exclude<ErrorResponse, 'AnthropicError'>, string> = {
  BadRequest: '400',
  Unauthorized: '401',
  Forbidden: '403',
  NotFound: '404',
  Conflict: '409',
  PayloadTooLarge: '413',
  RateLimited: '429',
  Unavailable: '503',
}

export const securitySchemes = {
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The token from register or login' },
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'The same token, as the Anthropic SDK sends it (gateway only)' },
  tokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'The same token in ?token= (WebSocket upgrade only)' },
}

export const schemas = { Error, AnthropicError }
