/**
 * Server-sent events for job streams: `id: <seq>` and `data: <event JSON>` per event (no
 * `event:` line, so EventSource's `onmessage` sees them all), a comment line as heartbeat,
 * pulled one event at a time so a slow reader slows the stream instead of growing a buffer.
 */
import type { JobEvent } from '../ports/llm-dispatch.ts'

const HEARTBEAT_MS = 15_000
const encoder = new TextEncoder()

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
}

export function formatEvent(e: JobEvent): string {
  return `id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`
}

/**
 * Stream `open(signal)`'s events as SSE. The signal aborts when the client goes away or the
 * response is cancelled, which ends the subscription (not the job).
 */
export function sseResponse(
  open: (signal: AbortSignal) => AsyncIterable<JobEvent>,
  clientSignal: AbortSignal,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  const abort = new AbortController()
  const onClientGone = () => abort.abort()
  clientSignal.addEventListener('abort', onClientGone, { once: true })
  const iterator = open(abort.signal)[Symbol.asyncIterator]()
  let heartbeat: ReturnType<typeof setInterval> | undefined
  const finish = () => {
    clearInterval(heartbeat)
    clientSignal.removeEventListener('abort', onClientGone)
    abort.abort()
  }
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      heartbeat = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(': keep-alive\n\n'))
        } catch {
          finish()
        }
      }, HEARTBEAT_MS)
    },
    async pull(controller) {
      try {
        const next = await iterator.next()
        if (next.done) {
          finish()
          controller.close()
          return
        }
        controller.enqueue(encoder.encode(formatEvent(next.value)))
      } catch {
        finish()
        controller.close()
      }
    },
    cancel() {
      finish()
      void iterator.return?.()
    },
  })
  return new Response(body, { status, headers: { ...SSE_HEADERS, ...headers } })
}
