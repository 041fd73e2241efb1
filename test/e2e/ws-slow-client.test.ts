/**
 * A WebSocket client that stops reading, over a real socket: 4008 after
 * websocket.slowClientTimeout, whole frames before it, for a client that reads again before
 * the idle timeout (one away longer than websocket.idleTimeout is cut off by the server's
 * idle check, and what was queued for it is lost: see the README).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Runtime } from '../../core/app.ts'
import { type AnthropicStub, reply, startAnthropicStub } from '../helpers/anthropic-stub.ts'
import { rawWebSocket, seqsByJob } from '../helpers/raw-ws.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'

const SLOW_CLIENT_TIMEOUT_MS = 2_000
const AWAY_MS = SLOW_CLIENT_TIMEOUT_MS + 4_000

describe('WebSocket slow reader', () => {
  let stub: AnthropicStub
  let rt: Runtime
  let port: number
  const api = client(() => rt)
  beforeAll(async () => {
    // Replies of ~8 MB each (4,000 deltas of 2 KB): more than the kernel's socket buffers hold.
    stub = await startAnthropicStub({ fallback: () => reply(Array.from({ length: 4_000 }, (_, i) => `${i} `.padEnd(2_000, 'x'))) })
    rt = await startRuntime({
      llm: { provider: 'anthropic', apiKey: 'stub-key', baseURL: stub.url, maxRetries: 0 },
      websocket: { maxBufferedBytes: 64 * 1024, slowClientTimeout: SLOW_CLIENT_TIMEOUT_MS },
    })
    port = (await rt.listen()).port
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await rt.stop()
    await stub.stop()
  }, HOOK_TIMEOUT)

  test('a client that stops reading is closed with 4008 after slowClientTimeout; every frame before it is whole', async () => {
    const u = await api.user()
    const c = await rawWebSocket(port, `/v1/ws?token=${u.token}`)
    expect(c.status).toBe(101)
    c.pause()
    for (let i = 0; i < 2; i++) {
      const conv = (await api.post('/v1/conversations', {}, u.token)).body.id
      c.sendText(JSON.stringify({ type: 'send', conversationId: conv, content: 'a long one please', clientId: `s${i}` }))
    }
    // Stay away longer than the timeout, then read what the server queued.
    await Bun.sleep(AWAY_MS)
    const resumedAt = Date.now()
    c.resume()
    const close = await c.closed(15_000)
    expect(close?.closeCode).toBe(4008)
    // The close was already queued when the client came back, not sent at some later transport timeout.
    expect(Date.now() - resumedAt).toBeLessThan(5_000)
    // Whole frames only: each parses, and each job's seqs have no gap.
    const events = c.json()
    expect(events.length).toBeGreaterThan(0)
    for (const seqs of seqsByJob(events)) expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    c.destroy()
  }, 60_000)
})
