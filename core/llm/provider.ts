/** LLM provider interface: one streamed completion as small, serialisable events. */
import { ScaleError } from '../errors.ts'
import type { Turn } from '../ports/session.ts'

export interface ProviderRequest {
  /** Overrides the provider's configured model for this call. */
  model?: string
  system?: string
  messages: Turn[]
  maxTokens: number
}

/** Why the reply ended, in the Anthropic Messages API's words (`end_turn`, `max_tokens`, ...). */
export type StopReason = string

export type ProviderEvent =
  | { type: 'delta'; text: string }
  /** Final token counts, emitted exactly once, after the last delta. */
  | { type: 'usage'; inputTokens: number; outputTokens: number; stopReason?: StopReason }

/**
 * A streaming LLM backend. `stream` yields text deltas then one `usage` event. Failures are
 * thrown as `ScaleError` with a stable code: `RATE_LIMITED`, `OVERLOADED`, `TIMEOUT`,
 * `UPSTREAM_ERROR`, `VALIDATION_FAILED`, or `CANCELLED` once `signal` aborts.
 */
export interface LlmProvider {
  readonly name: string
  readonly model: string
  stream(req: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderEvent>
}

/** The error every provider throws once its signal has aborted. */
export function cancelledError(cause?: unknown): ScaleError {
  return new ScaleError('CANCELLED', 'the reply was cancelled', { cause })
}

/** A whole reply, gathered from a stream (for callers that do not stream, such as summaries). */
export interface CollectedReply {
  text: string
  inputTokens: number
  outputTokens: number
  stopReason?: StopReason
}

/**
 * Drain a provider stream into one reply.
 *
 * @example
 * const reply = await collectReply(provider.stream({ messages, maxTokens: 256 }, signal))
 */
export async function collectReply(events: AsyncIterable<ProviderEvent>): Promise<CollectedReply> {
  const out: CollectedReply = { text: '', inputTokens: 0, outputTokens: 0 }
  for await (const ev of events) {
    if (ev.type === 'delta') out.text += ev.text
    else Object.assign(out, { inputTokens: ev.inputTokens, outputTokens: ev.outputTokens, stopReason: ev.stopReason })
  }
  return out
}
