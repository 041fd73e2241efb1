/**
 * Turns every failure into the API's error shape `{ error: { code, message } }`: coded
 * errors keep their status, validation and parse failures are 400, unknown routes 404, an
 * unreachable database or Redis 503 UNAVAILABLE with Retry-After, anything else a 500 whose
 * details go to the log, never to the client.
 */
import { Elysia, type ValidationError } from 'elysia'
import type { Logger } from 'pino'
import { unavailableFrom } from '../outage.ts'
import { ScaleError, isScaleError } from '../errors.ts'
import type { BodyRefusal } from './body.ts'
import { validationMessage } from './validation.ts'

export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } })
}

export function errorResponse(status: number, code: string, message: string, headers?: Record<string, string>): Response {
  return new Response(errorBody(code, message), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  })
}

export const scaleErrorResponse = (e: ScaleError) => errorResponse(e.status, e.code, e.message, e.headers)

export function errorHandler(logger: Logger) {
  return new Elysia({ name: 'scale-errors' }).onError({ as: 'global' }, (ctx) => {
    const reqId = ctx.set.headers['x-request-id'] as string | undefined
    const res = toResponse(ctx.code, ctx.error, ctx.request, ctx.path, logger, reqId, (ctx as BodyRefusal).refusedBody)
    // Keep set.status in step so after-response hooks (metrics, logs) see the real status.
    ctx.set.status = res.status
    return res
  })
}

function toResponse(
  code: string | number,
  error: unknown,
  request: Request,
  path: string,
  logger: Logger,
  reqId?: string,
  refusedBody?: ScaleError,
): Response {
  if (isScaleError(error)) return scaleErrorResponse(error)
  // A coded error thrown while parsing arrives wrapped in Elysia's ParseError.
  const cause = (error as { cause?: unknown }).cause
  if (isScaleError(cause)) return scaleErrorResponse(cause)
  switch (code) {
    case 'VALIDATION': {
      // A body the parser refused fails its schema as a marker (see body.ts): answer why.
      const refused = (error as ValidationError).type === 'body' ? refusedBody : undefined
      if (refused) return scaleErrorResponse(refused)
      return errorResponse(400, 'VALIDATION_FAILED', validationMessage(error as ValidationError))
    }
    case 'PARSE':
      return errorResponse(400, 'VALIDATION_FAILED', 'the request body could not be parsed; send JSON with Content-Type: application/json')
    case 'NOT_FOUND':
      return errorResponse(404, 'NOT_FOUND', `no route for ${request.method} ${path}`)
    case 'INVALID_COOKIE_SIGNATURE':
    case 'INVALID_FILE_TYPE':
      return errorResponse(400, 'VALIDATION_FAILED', (error as Error).message)
  }
  // Elysia's own status errors (e.g. 413 from the body parser, 405) keep their status.
  const status = (error as { status?: number }).status
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return errorResponse(status, status === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED', (error as Error).message || 'bad request')
  }
  const unavailable = unavailableFrom(error)
  if (unavailable) {
    logger.warn({ reason: unavailable.message, reqId, method: request.method, path }, 'backing service unavailable')
    return scaleErrorResponse(unavailable)
  }
  logger.error({ err: error, reqId, method: request.method, path }, 'unhandled error')
  return errorResponse(500, 'INTERNAL', 'internal error; the details are in the server log')
}

export { ScaleError }
