/** Anthropic provider: the official SDK's streaming Messages API, its errors mapped to stable codes. */
import type Anthropic from '@anthropic-ai/sdk'
import { ScaleError, isScaleError, quote } from '../errors.ts'
import { cancelledError, type LlmProvider, type ProviderEvent, type ProviderRequest } from './provider.ts'

type Sdk = typeof import('@anthropic-ai/sdk')

export interface AnthropicProviderOptions {
  apiKey: string
  /** API origin, for proxies and test stubs. @default 'https://api.anthropic.com' */
  baseURL?: string
  /** Model used when a request names none. */
  model: string
  /**
   * Longest wait for the response headers of one attempt, and for the next event once the
   * stream has started (a stalled stream fails with `TIMEOUT`). @default 60_000
   */
  timeoutMs?: number
  /** Retries of 408/409/429/5xx and dropped connections before the stream starts (the SDK honours `retry-after`). @default 2 */
  maxRetries?: number
}

/**
 * Stream replies from the Anthropic Messages API. The SDK is imported on the first call, so a
 * process using the fake provider never loads it.
 *
 * @example
 * const provider = createAnthropicProvider({ apiKey: process.env.ANTHROPIC_API_KEY!, model: 'claude-sonnet-4-6' })
 */
export function createAnthropicProvider(opts: AnthropicProviderOptions): LlmProvider {
  const { apiKey, baseURL, model, timeoutMs = 60_000, maxRetries = 2 } = opts
  let loaded: Promise<{ sdk: Sdk; client: Anthropic }> | undefined
  const load = () =>
    (loaded ??= import('@anthropic-ai/sdk').then((sdk) => ({
      sdk,
      client: new sdk.default({ apiKey, baseURL, timeout: timeoutMs, maxRetries }),
    })))

  return {
    name: 'anthropic',
    model,
    async *stream(req: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderEvent> {
      const { sdk, client } = await load()
      if (signal.aborted) throw cancelledError(signal.reason)
      // One controller for both the caller's abort and our idle timeout.
      const local = new AbortController()
      const onAbort = () => local.abort(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      let stalled = false
      let idle: ReturnType<typeof setTimeout> | undefined
      const arm = () => {
        clearTimeout(idle)
        idle = setTimeout(() => {
          stalled = true
          local.abort()
        }, timeoutMs)
        idle.unref?.()
      }
      let finished = false
      try {
        const stream = await client.messages.create(
          {
            model: req.model ?? model,
            max_tokens: req.maxTokens,
            messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
            ...(req.system ? { system: req.system } : {}),
            stream: true,
          },
          { signal: local.signal },
        )
        arm()
        let inputTokens = 0
        let outputTokens = 0
        let stopReason: string | undefined
        for await (const ev of stream) {
          arm()
          if (ev.type === 'message_start') {
            const u = ev.message.usage
            inputTokens = u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0)
            outputTokens = u.output_tokens
          } else if (ev.type === 'content_block_delta') {
            if (ev.delta.type === 'text_delta' && ev.delta.text) yield { type: 'delta', text: ev.delta.text }
          } else if (ev.type === 'message_delta') {
            outputTokens = ev.usage.output_tokens
            if (ev.usage.input_tokens != null) {
              inputTokens =
                ev.usage.input_tokens +
                (ev.usage.cache_creation_input_tokens ?? 0) +
                (ev.usage.cache_read_input_tokens ?? 0)
            }
            stopReason = ev.delta.stop_reason ?? stopReason
          } else if (ev.type === 'message_stop') {
            finished = true
          }
        }
        clearTimeout(idle)
        // The SDK ends the iteration quietly when its request is aborted, so check why it ended.
        if (signal.aborted) throw cancelledError(signal.reason)
        if (stalled) throw stallError(timeoutMs)
        if (!finished) throw new ScaleError('UPSTREAM_ERROR', 'the provider stream ended before message_stop')
        yield { type: 'usage', inputTokens, outputTokens, stopReason }
      } catch (e) {
        throw toScaleError(e, sdk, signal, stalled, timeoutMs)
      } finally {
        clearTimeout(idle)
        signal.removeEventListener('abort', onAbort)
        // Closes the connection when the consumer stops early.
        if (!finished) local.abort()
      }
    },
  }
}

const stallError = (ms: number) =>
  new ScaleError('TIMEOUT', `the provider sent nothing for ${ms} ms; the stream was abandoned`)

/** Map an SDK or network error to a coded one, quoting the provider's own message. */
export function toScaleError(e: unknown, sdk: Sdk, signal: AbortSignal, stalled = false, timeoutMs = 0): ScaleError {
  if (isScaleError(e)) return e
  if (signal.aborted) return cancelledError(e)
  if (stalled) return stallError(timeoutMs)
  if (e instanceof sdk.APIConnectionTimeoutError) {
    return new ScaleError('TIMEOUT', `the provider did not answer within ${timeoutMs} ms`, { cause: e })
  }
  if (e instanceof sdk.APIConnectionError) {
    return new ScaleError('UPSTREAM_ERROR', `could not reach the provider: ${quote(causeText(e))}`, { cause: e })
  }
  if (e instanceof sdk.APIError) {
    const said = quote(e.apiMessage ?? e.message)
    const retryAfter = e.headers?.get('retry-after')
    const headers = retryAfter ? { 'Retry-After': retryAfter } : undefined
    const where = e.status ? `answered ${e.status}` : 'sent an error event'
    if (e.status === 429 || e.type === 'rate_limit_error') {
      return new ScaleError('RATE_LIMITED', `the provider is rate limiting: ${said}`, { cause: e, headers })
    }
    if (e.status === 529 || e.type === 'overloaded_error') {
      return new ScaleError('OVERLOADED', `the provider is overloaded: ${said}`, { cause: e, headers })
    }
    if (e.status === 400 || e.type === 'invalid_request_error') {
      return new ScaleError('VALIDATION_FAILED', `the provider refused the request: ${said}`, { cause: e })
    }
    return new ScaleError('UPSTREAM_ERROR', `the provider ${where}: ${said}`, { cause: e })
  }
  // Raised while reading the body: the connection dropped mid-stream.
  return new ScaleError('UPSTREAM_ERROR', `the provider connection failed: ${quote(causeText(e))}`, { cause: e })
}

function causeText(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e
  return cause instanceof Error ? cause.message : String(cause)
}
