/** WebSocket limits on a real port: the tier's socket cap (4429), and revoked users' sockets (4401). */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Runtime } from '../../core/app.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'
import { wsClient } from '../helpers/ws-client.ts'

const REVOCATION_CHECK_MS = 300

describe('WebSocket socket cap and revocation', () => {
  let rt: Runtime
  let base: string
  const api = client(() => rt)
  beforeAll(async () => {
    rt = await startRuntime({
      auth: { revocationCheck: REVOCATION_CHECK_MS },
      tiers: {
        free: { requestsPerMinute: { api: 1000, sync: 100 }, chatPerMinute: 100, maxTokens: 512, maxSockets: 3 },
        paid: { requestsPerMinute: { api: 1000, sync: 100 }, chatPerMinute: 100, maxTokens: 1024 },
      },
    })
    base = `ws://127.0.0.1:${(await rt.listen()).port}/v1/ws`
  }, HOOK_TIMEOUT)
  afterAll(() => rt.stop(), HOOK_TIMEOUT)

  const open = async (token: string) => {
    const c = wsClient(`${base}?token=${token}`)
    await c.opened
    return c
  }
  const pingPong = async (c: Awaited<ReturnType<typeof open>>) => {
    c.send({ type: 'ping' })
    await c.next((f) => f.type === 'pong')
  }

  test("a user over the tier's maxSockets is closed with 4429; another user is not affected; a freed slot is reusable", async () => {
    const u = await api.user()
    const first = [await open(u.token), await open(u.token), await open(u.token)]
    for (const c of first) await pingPong(c)
    const over = wsClient(`${base}?token=${u.token}`)
    const closed = await over.closed()
    expect(closed.code).toBe(4429)
    expect(closed.reason).toContain('at most 3')
    // The cap is per user.
    const other = await open((await api.user()).token)
    await pingPong(other)
    first[0]!.ws.close()
    await first[0]!.closed()
    // The server learns of the close asynchronously.
    await Bun.sleep(500)
    const again = await open(u.token)
    await pingPong(again)
    for (const c of [...first.slice(1), other, again]) c.ws.close()
  })

  test('a deleted user: their open socket is closed with 4401 and a new upgrade is refused', async () => {
    const u = await api.user()
    const idle = await open(u.token)
    await pingPong(idle)
    const t0 = Date.now()
    await rt.deps.users.remove(u.email)
    // An idle socket is closed by the sweep (every max(1 s, revocationCheck)).
    const closed = await idle.closed()
    expect(closed.code).toBe(4401)
    expect(Date.now() - t0).toBeLessThan(1_000 + REVOCATION_CHECK_MS + 3_000)
    const http = base.replace('ws://', 'http://')
    const upgrade = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    }
    expect((await fetch(`${http}?token=${u.token}`, { headers: upgrade })).status).toBe(401)
  })

  test('a disabled user: the next frame closes their socket with 4401', async () => {
    const u = await api.user()
    const c = await open(u.token)
    await pingPong(c)
    await rt.deps.users.setDisabled(u.email, true)
    await Bun.sleep(REVOCATION_CHECK_MS + 50)
    c.send({ type: 'ping' })
    expect((await c.closed()).code).toBe(4401)
  })
})
