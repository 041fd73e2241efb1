/**
 * A WebSocket client that stops reading, on Deno (`deno task start`): the adapter's
 * `bufferedAmount` watch pauses the stream and the socket is closed with 4008 after
 * `websocket.slowClientTimeout`, every frame before it whole (as test/e2e/ws-slow-client.test.ts
 * checks on Bun). Replies of ~8 MB come from an Anthropic stub.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type AnthropicStub, reply, startAnthropicStub } from '../helpers/anthropic-stub.ts'
import { rawWebSocket, seqsByJob } from '../helpers/raw-ws.ts'
import { call, type Proc } from '../helpers/remote.ts'
import { describeWith } from '../helpers/services.ts'
import { denoMissing, startDenoApi, terminate } from './deno.ts'

const CONFIG = new URL('./fixtures/slow-client.ts', import.meta.url).pathname
const AWAY_MS = 6_000

describeWith('WebSocket slow reader on Deno [deno]', await denoMissing(), () => {
  let stub: AnthropicStub | undefined
  let api: Proc | undefined
  beforeAll(async () => {
    stub = await startAnthropicStub({ fallback: () => reply(Array.from({ length: 4_000 }, (_, i) => `${i} `.padEnd(2_000, 'x'))) })
    api = await startDenoApi({ SCALE_CONFIG: CONFIG, ANTHROPIC_API_KEY: 'stub-key', ANTHROPIC_BASE_URL: stub.url })
  }, 180_000)
  afterAll(async () => {
    await terminate(api)
    await stub?.stop()
  }, 60_000)

  test('a client that stops reading is closed with 4008 after slowClientTimeout; every frame before it is whole', async () => {
    const reg = await call(api!.base, 'POST', '/v1/auth/register', {
      email: `s${crypto.randomUUID().slice(0, 8)}@example.com`,
      password: 'correct horse battery',
    })
    const token = reg.body.token as string
    const c = await rawWebSocket(Number(new URL(api!.base).port), `/v1/ws?token=${token}`)
    expect(c.status).toBe(101)
    c.pause()
    for (let i = 0; i < 2; i++) {
      const conv = (await call(api!.base, 'POST', '/v1/conversations', {}, token)).body.id
      c.sendText(JSON.stringify({ type: 'send', conversationId: conv, content: 'a long one please', clientId: `s${i}` }))
    }
    await Bun.sleep(AWAY_MS)
    c.resume()
    const close = await c.closed(15_000)
    expect(close?.closeCode).toBe(4008)
    const events = c.json()
    expect(events.length).toBeGreaterThan(0)
    for (const seqs of seqsByJob(events)) expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    c.destroy()
  }, 90_000)
})
