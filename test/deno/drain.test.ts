/**
 * SIGTERM on each runtime, as users start them (`bun core/main.ts`, `deno task start`):
 * open WebSockets are closed with 1012 (reconnect and resume elsewhere), a reply streaming
 * over SSE still finishes, and the process exits 0.
 */
import { describe, expect, test } from 'bun:test'
import { API_READY, call, type Proc, spawnCommand } from '../helpers/remote.ts'
import { describeWith } from '../helpers/services.ts'
import { parseSse } from '../helpers/sse.ts'
import { wsClient } from '../helpers/ws-client.ts'
import { denoMissing, startDenoApi, terminate } from './deno.ts'

const CONFIG = new URL('./fixtures/drain.ts', import.meta.url).pathname

async function drainCase(start: () => Promise<Proc>) {
  const p = await start()
  try {
    const reg = await call(p.base, 'POST', '/v1/auth/register', {
      email: `d${crypto.randomUUID().slice(0, 8)}@example.com`,
      password: 'correct horse battery',
    })
    const token = reg.body.token as string
    const conv = (await call(p.base, 'POST', '/v1/conversations', {}, token)).body.id as string
    const socket = wsClient(`${p.base.replace('http://', 'ws://')}/v1/ws?token=${token}`)
    await socket.opened
    const res = await fetch(`${p.base}/v1/conversations/${conv}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ content: 'a reply that is still streaming when the server is told to stop' }),
    })
    const reader = res.body!.getReader()
    let text = new TextDecoder().decode((await reader.read()).value) // in flight
    p.proc.kill('SIGTERM')
    const closed = await socket.closed()
    expect(closed.code).toBe(1012)
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    const events = parseSse(text).map((e) => e.data)
    expect(events.at(-1)?.type).toBe('done')
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    // One SIGTERM only: a second one means "now" (exit 1).
    expect(await Promise.race([p.proc.exited, Bun.sleep(30_000).then(() => 'still running')])).toBe(0)
    expect(p.output()).toContain('"msg":"stopped"')
  } finally {
    await terminate(p, 1000)
  }
}

describe('SIGTERM drains [bun]', () => {
  test(
    'sockets close with 1012, an SSE reply in flight finishes, exit 0',
    () => drainCase(() => spawnCommand([process.execPath, 'core/main.ts'], { PORT: '0', SCALE_CONFIG: CONFIG }, API_READY, 120_000)),
    90_000,
  )
})

describeWith('SIGTERM drains [deno]', await denoMissing(), () => {
  test(
    'sockets close with 1012, an SSE reply in flight finishes, exit 0',
    () => drainCase(() => startDenoApi({ SCALE_CONFIG: CONFIG })),
    180_000,
  )
})
