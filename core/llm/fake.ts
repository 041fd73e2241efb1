/** Offline, deterministic LLM provider: echoes the last user message, streamed word by word. */
import { cancelledError, type LlmProvider, type ProviderEvent, type ProviderRequest } from './provider.ts'

export interface FakeProviderOptions {
  /** Delay between two tokens, in ms. `0` still yields to the event loop between tokens. @default 20 */
  tokenDelayMs?: number
  /** Model name reported by the provider. @default 'fake' */
  model?: string
  /** Filler words appended after the echo. @default 12 */
  fillerWords?: number
  /** Longest echo of the user's message, in words (longer ones are cut with `...`). @default 20 */
  echoWords?: number
}

const FILLER = (
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november ' +
  'oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'
).split(' ')

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean)

/** FNV-1a: a stable seed from the prompt, so the same input always gets the same reply. */
function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** The words of the fake reply to `req`, before any `maxTokens` cut. */
export function fakeReplyWords(req: ProviderRequest, fillerWords = 12, echoWords = 20): string[] {
  const lastUser = [...req.messages].reverse().find((m) => m.role === 'user')
  const said = words(lastUser?.content ?? '')
  const echo = said.length > echoWords ? [...said.slice(0, echoWords), '...'] : said
  const out = echo.length ? ['You', 'said:', ...echo.slice(0, -1), `${echo.at(-1)}.`] : ['You', 'said', 'nothing.']
  let seed = hash(said.join(' '))
  for (let i = 0; i < fillerWords; i++) {
    seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) >>> 0
    out.push(FILLER[seed % FILLER.length]!)
  }
  if (fillerWords > 0) out[out.length - 1] += '.'
  return out
}

/** Resolve after `ms` (or on the next macrotask when 0); reject as cancelled when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(cancelledError(signal.reason))
    const done = () => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }
    // setTimeout(0) waits about a millisecond in Bun; a zero delay only needs to yield.
    // Not unref'd: a caller is awaiting this token.
    const timer = ms > 0 ? setTimeout(done, ms) : undefined
    const immediate = ms > 0 ? undefined : setImmediate(done)
    const onAbort = () => {
      clearTimeout(timer)
      if (immediate) clearImmediate(immediate)
      reject(cancelledError(signal.reason))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * A provider that needs no network or key: the reply is "You said: <message>." plus a few
 * filler words picked from the message, identical for identical input. Usage counts words.
 *
 * @example
 * const provider = createFakeProvider({ tokenDelayMs: 0 })
 * for await (const ev of provider.stream({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 64 }, signal)) {}
 */
export function createFakeProvider(opts: FakeProviderOptions = {}): LlmProvider {
  const { tokenDelayMs = 20, model = 'fake', fillerWords = 12, echoWords = 20 } = opts
  return {
    name: 'fake',
    model,
    async *stream(req: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderEvent> {
      if (signal.aborted) throw cancelledError(signal.reason)
      const all = fakeReplyWords(req, fillerWords, echoWords)
      const reply = all.slice(0, Math.max(0, req.maxTokens))
      const prompt = [req.system ?? '', ...req.messages.map((m) => m.content)].join(' ')
      for (let i = 0; i < reply.length; i++) {
        if (i > 0) await pause(tokenDelayMs, signal)
        yield { type: 'delta', text: i < reply.length - 1 ? `${reply[i]} ` : reply[i]! }
      }
      if (signal.aborted) throw cancelledError(signal.reason)
      yield {
        type: 'usage',
        inputTokens: words(prompt).length,
        outputTokens: reply.length,
        stopReason: reply.length < all.length ? 'max_tokens' : 'end_turn',
      }
    },
  }
}
