/**
 * The body limit for chunked bodies (no Content-Length, so the app could not check them up
 * front): counted as they are read; past the limit the read fails with PAYLOAD_TOO_LARGE,
 * which the app's error handler answers with 413 in the API's error shape.
 */
import { ScaleError } from '../errors.ts'

/** True when the request has a body whose size was not declared. */
export const undeclaredBody = (request: Request) => request.body !== null && !request.headers.has('content-length')

/** The same request, with its body counted against `max` bytes. */
export function limitBody(request: Request, max: number): Request {
  let seen = 0
  const counted = request.body!.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        seen += chunk.byteLength
        if (seen > max) c.error(new ScaleError('PAYLOAD_TOO_LARGE', `the request body is over the limit of ${max} bytes`))
        else c.enqueue(chunk)
      },
    }),
  )
  return new Request(request, { body: counted, duplex: 'half' } as RequestInit)
}
