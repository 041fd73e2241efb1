/**
 * A WebSocket client that stops reading, over a real socket: closed with 4008 after
 * websocket.slowClientTimeout, with whole frames before it, whether what waits for it is
 * large (more than the kernel's buffers hold) or a few bytes; and not cut off later by the
 * idle check. The reply that was running is not lost: the client resumes after its last seq.
 */
import { describe, expect, test } from 'bun:test'
import { SLOW_CLIENT_REASON } from '../../core/chat/socket-sink.ts'
import { reply, slow } from '../helpers/anthropic-stub.ts'
import { deltasText, rawWebSocket, resumeAfter, seqsByJob } from '../helpers/raw-ws.ts'
import { client, stubbedRuntime } from '../helpers/runtime.ts'

describe('WebSocket slow reader', () => {
  const SLOW_CLIENT_TIMEOUT_MS = 2_000
  const AWAY_MS = SLOW_CLIENT_TIMEOUT_MS + 4_000
  // Replies of ~8 MB each (4,000 deltas of 2 KB): more than the kernel's socket buffers hold.
  const h = stubbedRuntime(() => reply(Array.from({ length: 4_000 }, (_, i) => `${i} `.padEnd(2_000, 'x'))), {
    websocket: { maxBufferedBytes: 64 * 1024, slowClientTimeout: SLOW_CLIENT_TIMEOUT_MS },
  })
  const api = client(() => h.rt)

  test('a client that stops reading is closed with 4008 after slowClientTimeout; every frame before it is whole', async () => {
    const u = await api.user()
    const c = await rawWebSocket(h.port, `/v1/ws?token=${u.token}`)
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

describe('WebSocket slow reader, small volume', () => {
  // Away well past the timeout (so a late timer on a loaded machine still fires first), and
  // well within the idle timeout (30 s), which would close without a 4008.
  const AWAY_MS = 5_000
  const WORDS = Array.from({ length: 40 }, (_, i) => `w${i}`)
  // 40 short deltas, 200 ms apart: far below maxBufferedBytes, and still running at the close.
  const h = stubbedRuntime(() => slow(WORDS.join(' '), 200), { websocket: { slowClientTimeout: 1_000, idleTimeout: '30 s' } })
  const api = client(() => h.rt)

  test('a client that stops reading a few bytes gets 4008 after slowClientTimeout, then resumes the running reply', async () => {
    const u = await api.user()
    const conv = (await api.post('/v1/conversations', {}, u.token)).body.id
    const c = await rawWebSocket(h.port, `/v1/ws?token=${u.token}`)
    expect(c.status).toBe(101)
    c.sendText(JSON.stringify({ type: 'send', conversationId: conv, content: 'hello', clientId: 'small-1' }))
    const accepted = JSON.parse((await c.next((f) => f.opcode === 1 && f.text!.includes('"accepted"'))).text!)
    c.pause()
    await Bun.sleep(AWAY_MS)
    c.resume()
    const close = await c.closed(10_000)
    expect(close?.closeCode).toBe(4008)
    expect(close?.closeReason).toBe(SLOW_CLIENT_REASON)
    const before = c.json().filter((e) => e.jobId === accepted.jobId && typeof e.seq === 'number')
    for (const seqs of seqsByJob(before)) expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    expect(before.some((e) => e.type === 'done')).toBe(false)
    c.destroy()

    // Reconnect and resume after the last seq received: the rest of the reply, no gap, no repeat.
    const lastSeq = before.at(-1)?.seq ?? 0
    const after = await resumeAfter(h.port, u.token, accepted.jobId, lastSeq)
    expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => lastSeq + 1 + i))
    expect(deltasText([...before, ...after]).trim()).toBe(WORDS.join(' '))
  }, 60_000)
})
