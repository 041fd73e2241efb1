/**
 * Backpressure under load, over real sockets: many chat turns stream at once over WebSocket
 * while a set of clients stop reading after `accepted`. The readers get every reply whole
 * and in order; each client that stopped reading has its stream paused (its reply is larger
 * than what the kernel's buffers and `maxBufferedBytes` hold), is closed with 4008 and the
 * documented reason, and then resumes on a new socket after the last seq it read, getting the
 * rest with no gap and no repeat.
 *
 * Replies come from the Anthropic stub rather than the fake provider: a fake reply is at most
 * a few dozen words (about 32 KB with the longest message), while a socket on 127.0.0.1 takes
 * about 4 MB unread before the server sees any backpressure. Nothing outside this process is
 * needed (embedded database, local stub), so nothing here is skipped, under CI or not.
 */
import { describe, expect, test } from 'bun:test'
import { SLOW_CLIENT_REASON } from '../../core/chat/socket-sink.ts'
import { DEFAULT_TIERS } from '../../core/config/resolved.ts'
import { lastUserText, reply } from '../helpers/anthropic-stub.ts'
import { deltasText, rawWebSocket, resumeAfter } from '../helpers/raw-ws.ts'
import { client, stubbedRuntime } from '../helpers/runtime.ts'
import { type Frame, wsClient } from '../helpers/ws-client.ts'

// 220 replies at once: under the 256 requests Bun's fetch runs at once (more would wait for a
// free one, and a slow client's reply could start after it came back).
const READERS = 200
const SLOW = 20
/** Sockets per user (the tier's maxSockets is raised to this). */
const PER_USER = 30
// Well above the event-loop stalls this test can meet on a loaded machine (2.5 s seen): the
// watchdog's timer runs before the pongs waiting in the sockets are read, so a stall longer
// than the timeout would close readers too.
const SLOW_CLIENT_TIMEOUT_MS = 5_000
// Away well past the timeout (a late timer still closes first), and back within a few seconds
// of the close, so that the 4008 gets through the full buffers (as ws-slow-client.test.ts).
const AWAY_MS = SLOW_CLIENT_TIMEOUT_MS + 4_000

// A reader's reply: 60 short deltas, 40 ms apart, so that all of them run at once.
const readerChunks = (k: number) => Array.from({ length: 60 }, (_, i) => `r${k}.${i} `)
// A slow client's reply: 6 MB (384 deltas of 16 KB), more than a loopback socket's kernel
// buffers (about 4 MB) plus maxBufferedBytes: the rest must wait for the stream to go on.
const slowChunks = (k: number) => Array.from({ length: 384 }, (_, i) => `s${k}.${i} `.padEnd(16 * 1024, 'x'))

/** A job's events read whole and in order: seqs run on from `afterSeq` without gap or repeat. */
function expectContiguous(events: Frame[], afterSeq = 0) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => afterSeq + 1 + i))
}

describe('WebSocket backpressure under load', () => {
  const h = stubbedRuntime(
    (body) => {
      const [kind, k] = lastUserText(body).split(' ')
      return kind === 'slow' ? reply(slowChunks(Number(k))) : reply(readerChunks(Number(k)), { eventDelayMs: 40 })
    },
    {
      llm: { concurrency: READERS + SLOW },
      websocket: { maxBufferedBytes: 64 * 1024, slowClientTimeout: SLOW_CLIENT_TIMEOUT_MS, idleTimeout: '30 s' },
      tiers: { ...DEFAULT_TIERS, free: { ...DEFAULT_TIERS.free, chatPerMinute: 1_000, maxSockets: PER_USER } },
    },
  )
  const api = client(() => h.rt)

  test(`${READERS} readers get whole replies while ${SLOW} clients that stop reading are paused, closed with 4008 and resume`, async () => {
    const users = await Promise.all(Array.from({ length: Math.ceil((READERS + SLOW) / PER_USER) }, () => api.user()))
    const tokenOf = (i: number) => users[Math.floor(i / PER_USER)]!.token
    const convs: string[] = await Promise.all(
      Array.from({ length: READERS + SLOW }, async (_, i) => (await api.post('/v1/conversations', {}, tokenOf(i))).body.id),
    )

    // Clients 0..SLOW-1 stop reading after `accepted`; the others read as a WebSocket library does.
    const slow = await Promise.all(
      Array.from({ length: SLOW }, async (_, k) => {
        const c = await rawWebSocket(h.port, `/v1/ws?token=${tokenOf(k)}`)
        expect(c.status).toBe(101)
        return c
      }),
    )
    const readers = await Promise.all(
      Array.from({ length: READERS }, async (_, k) => {
        const c = wsClient(`ws://127.0.0.1:${h.port}/v1/ws?token=${tokenOf(SLOW + k)}`, undefined, 45_000)
        await c.opened
        return c
      }),
    )

    readers.forEach((c, k) => c.send({ type: 'send', conversationId: convs[SLOW + k], content: `reader ${k}`, clientId: `r${k}` }))
    const slowRuns = slow.map(async (c, k) => {
      c.sendText(JSON.stringify({ type: 'send', conversationId: convs[k], content: `slow ${k}`, clientId: `s${k}` }))
      const accepted = JSON.parse((await c.next((f) => f.opcode === 1 && f.text!.startsWith('{"type":"accepted"'))).text!)
      c.pause()
      // Away from when its reply starts (from the stub's side), not from `accepted`: the reply is what stays unread.
      while (!h.stub.requests.some((r) => lastUserText(r.body) === `slow ${k}`)) await Bun.sleep(50)
      await Bun.sleep(AWAY_MS)
      c.resume()
      const close = await c.closed(20_000)
      c.destroy()
      return {
        k,
        jobId: accepted.jobId as string,
        close,
        events: c.json().filter((e) => e.jobId === accepted.jobId && typeof e.seq === 'number'),
      }
    })

    // Every reader: its whole reply, in order, ending with `done`, on a socket left open.
    const readerRuns = readers.map(async (c, k) => {
      const accepted = await c.next((f) => f.type === 'accepted' && f.clientId === `r${k}`)
      await c.next((f) => f.jobId === accepted.jobId && (f.type === 'done' || f.type === 'error'))
      return { k, events: c.jobEvents(accepted.jobId), closed: c.ws.readyState !== WebSocket.OPEN }
    })
    for (const r of await Promise.all(readerRuns)) {
      expectContiguous(r.events)
      expect(r.events.at(-1)?.type).toBe('done')
      expect(deltasText(r.events)).toBe(readerChunks(r.k).join(''))
      expect(r.closed).toBe(false)
    }
    for (const c of readers) c.ws.close()

    for (const s of await Promise.all(slowRuns)) {
      // Closed as documented, after whole frames, short of the end: the stream was paused.
      expect({ code: s.close?.closeCode, reason: s.close?.closeReason }).toEqual({ code: 4008, reason: SLOW_CLIENT_REASON })
      expectContiguous(s.events)
      expect(s.events.some((e) => e.type === 'done')).toBe(false)

      // A new socket, resumed after the last seq read: the rest, no gap, no repeat, then `done`.
      const lastSeq = s.events.at(-1)?.seq ?? 0
      const rest = await resumeAfter(h.port, tokenOf(s.k), s.jobId, lastSeq)
      expectContiguous(rest, lastSeq)
      expect(rest.at(-1)?.type).toBe('done')
      expect(deltasText([...s.events, ...rest])).toBe(slowChunks(s.k).join(''))
    }
  }, 60_000)
})
