/** The offline fake provider: deterministic words, usage, delays and abort. */
import { describe, expect, test } from 'bun:test'
import type { ResolvedConfig } from '../../core/config/resolved.ts'
import { ScaleError } from '../../core/errors.ts'
import { createFakeProvider } from '../../core/llm/fake.ts'
import { createProvider } from '../../core/llm/index.ts'
import { collectReply, type ProviderEvent, type ProviderRequest } from '../../core/llm/provider.ts'

const req = (content: string, maxTokens = 256): ProviderRequest => ({
  system: 'Be kind.',
  messages: [
    { role: 'user', content: 'first question' },
    { role: 'assistant', content: 'first answer' },
    { role: 'user', content },
  ],
  maxTokens,
})
const live = () => new AbortController().signal

async function events(content: string, opts = { tokenDelayMs: 0 }, maxTokens = 256): Promise<ProviderEvent[]> {
  const out: ProviderEvent[] = []
  for await (const ev of createFakeProvider(opts).stream(req(content, maxTokens), live())) out.push(ev)
  return out
}

describe('fake provider', () => {
  test('echoes the last user message, then filler, one word per delta', async () => {
    const evs = await events('hello   world')
    const deltas = evs.filter((e) => e.type === 'delta').map((e) => (e as { text: string }).text)
    expect(deltas.slice(0, 4)).toEqual(['You ', 'said: ', 'hello ', 'world. '])
    expect(deltas).toHaveLength(4 + 12)
    for (const d of deltas.slice(0, -1)) expect(d).toMatch(/^\S+ $/)
    expect(deltas.at(-1)).toMatch(/^\S+\.$/)
  })

  test('is deterministic for the same input and differs for another', async () => {
    const a = await collectReply(createFakeProvider({ tokenDelayMs: 0 }).stream(req('same input'), live()))
    const b = await collectReply(createFakeProvider({ tokenDelayMs: 0 }).stream(req('same input'), live()))
    const c = await collectReply(createFakeProvider({ tokenDelayMs: 0 }).stream(req('other input'), live()))
    expect(a).toEqual(b)
    expect(a.text.split('. ')[1]).not.toBe(c.text.split('. ')[1])
  })

  test('reports usage once, at the end: prompt words in (system included), words sent out', async () => {
    const evs = await events('one two three')
    const usage = evs.filter((e) => e.type === 'usage')
    expect(usage).toHaveLength(1)
    expect(evs.at(-1)).toEqual({ type: 'usage', inputTokens: 9, outputTokens: 17, stopReason: 'end_turn' })
  })

  test('stops at maxTokens and says so', async () => {
    const evs = await events('one two three', { tokenDelayMs: 0 }, 3)
    expect(evs.filter((e) => e.type === 'delta')).toHaveLength(3)
    expect(evs.at(-1)).toMatchObject({ outputTokens: 3, stopReason: 'max_tokens' })
  })

  test('cuts a long message in the echo', async () => {
    const long = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ')
    const reply = await collectReply(createFakeProvider({ tokenDelayMs: 0 }).stream(req(long), live()))
    expect(reply.text.startsWith('You said: w0 w1')).toBe(true)
    expect(reply.text).toContain('w19 ....')
    expect(reply.text).not.toContain('w20')
  })

  test('with tokenDelayMs 0 it still yields to the event loop between tokens', async () => {
    // Work queued behind the stream (I/O callbacks, immediates) runs before it ends.
    let ran = false
    setImmediate(() => (ran = true))
    const seenBeforeLast: boolean[] = []
    for await (const ev of createFakeProvider({ tokenDelayMs: 0 }).stream(req('a b c d e f'), live())) {
      if (ev.type === 'delta') seenBeforeLast.push(ran)
    }
    expect(seenBeforeLast.at(-1)).toBe(true)
    expect(seenBeforeLast[0]).toBe(false)
  })

  test('waits tokenDelayMs between tokens', async () => {
    const started = performance.now()
    await collectReply(createFakeProvider({ tokenDelayMs: 10, fillerWords: 0 }).stream(req('a b c d'), live()))
    // 6 words, 5 gaps of 10 ms; generous lower bound only.
    expect(performance.now() - started).toBeGreaterThanOrEqual(40)
  })

  test('abort ends the stream promptly with CANCELLED', async () => {
    const ac = new AbortController()
    const seen: string[] = []
    const started = performance.now()
    let error: unknown
    try {
      for await (const ev of createFakeProvider({ tokenDelayMs: 10_000 }).stream(req('hi'), ac.signal)) {
        if (ev.type === 'delta') seen.push(ev.text)
        setTimeout(() => ac.abort(), 5)
      }
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ScaleError)
    expect((error as ScaleError).code).toBe('CANCELLED')
    expect((error as ScaleError).status).toBe(499)
    expect(seen).toEqual(['You '])
    expect(performance.now() - started).toBeLessThan(5_000)
  })

  test('an already aborted signal yields nothing', async () => {
    const ac = new AbortController()
    ac.abort()
    const it = createFakeProvider({ tokenDelayMs: 0 }).stream(req('hi'), ac.signal)[Symbol.asyncIterator]()
    await expect(it.next()).rejects.toMatchObject({ code: 'CANCELLED' })
  })

  test('reports its name and model', () => {
    const p = createFakeProvider({ model: 'fake-large' })
    expect([p.name, p.model]).toEqual(['fake', 'fake-large'])
  })
})

describe('createProvider', () => {
  const llm = {
    provider: 'fake',
    model: 'claude-sonnet-4-6',
    timeoutMs: 1000,
    maxRetries: 0,
    fakeTokenDelayMs: 0,
    concurrency: 1,
    maxQueued: 1,
    eventRetentionMs: 1000,
    bufferTurns: 10,
  } satisfies ResolvedConfig['llm']

  test('picks the provider named in the config', () => {
    expect(createProvider(llm).name).toBe('fake')
    const p = createProvider({ ...llm, provider: 'anthropic', apiKey: 'k', baseURL: 'http://127.0.0.1:1' })
    expect([p.name, p.model]).toEqual(['anthropic', 'claude-sonnet-4-6'])
  })
})
