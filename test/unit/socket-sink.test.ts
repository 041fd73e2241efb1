import { describe, expect, test } from 'bun:test'
import { CLOSE_SLOW_CLIENT, createSocketSink, type SinkSocket } from '../../core/chat/socket-sink.ts'
import type { JobEvent } from '../../core/ports/llm-dispatch.ts'

/** A socket whose send buffer the test controls. */
function fakeSocket() {
  const sent: any[] = []
  const s = {
    sent,
    buffered: 0,
    dropNext: false,
    closedWith: undefined as number | undefined,
    send(data: string) {
      if (s.dropNext) return 0
      sent.push(JSON.parse(data))
      return data.length
    },
    close(code?: number) {
      s.closedWith = code
    },
    getBufferedAmount: () => s.buffered,
  }
  return s satisfies SinkSocket & Record<string, unknown>
}

async function* job(n: number, signal: AbortSignal): AsyncGenerator<JobEvent> {
  for (let seq = 1; seq <= n && !signal.aborted; seq++) {
    yield { type: 'delta', jobId: 'j', seq, text: `${seq} ` }
    await Bun.sleep(1)
  }
}

/** A socket that can ping (as Bun's): the test answers the pings or not. */
function pingingSocket() {
  const s = fakeSocket()
  const pings: string[] = []
  return Object.assign(s, { pings, ping: (data: string) => void pings.push(data) })
}

/** The close code once the sink closed the socket (or undefined after 2 s), so a late timer is no failure. */
async function closeOf(s: { closedWith?: number }) {
  for (let i = 0; i < 200 && s.closedWith === undefined; i++) await Bun.sleep(10)
  return s.closedWith
}

describe('socket sink', () => {
  test('a backed-up socket pauses the stream until it drains, then every event arrives in order', async () => {
    const s = fakeSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 100, slowClientTimeoutMs: 5_000 })
    s.buffered = 1_000
    const relaying = sink.relay(
      'j',
      (signal) => job(5, signal),
      () => {},
    )
    await Bun.sleep(30)
    expect(s.sent.map((e) => e.seq)).toEqual([1]) // paused after the first event
    s.buffered = 0
    sink.drained()
    await relaying
    expect(s.sent.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
    expect(s.closedWith).toBeUndefined()
  })

  test('a client that stays backed up is closed with 4008 after the timeout, not left with a gap', async () => {
    const s = fakeSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 100, slowClientTimeoutMs: 50 })
    s.buffered = 1_000
    await sink.relay(
      'j',
      (signal) => job(5, signal),
      () => {},
    )
    expect(s.closedWith).toBe(CLOSE_SLOW_CLIENT)
    expect(s.sent.map((e) => e.seq)).toEqual([1])
    expect(sink.write({ type: 'pong' })).toBe(false)
  })

  test('a frame the server dropped closes the socket with 4008', async () => {
    const s = fakeSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 100, slowClientTimeoutMs: 5_000 })
    s.dropNext = true
    await sink.relay(
      'j',
      (signal) => job(3, signal),
      () => {},
    )
    expect(s.closedWith).toBe(CLOSE_SLOW_CLIENT)
  })

  test('closing the socket ends its streams; errors of a live stream are reported', async () => {
    const s = fakeSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 100, slowClientTimeoutMs: 5_000 })
    const relaying = sink.relay(
      'j',
      (signal) => job(1000, signal),
      () => {},
    )
    await Bun.sleep(10)
    sink.closed()
    await relaying
    expect(s.sent.length).toBeLessThan(1000)
    const errors: unknown[] = []
    const failing = async function* (): AsyncGenerator<JobEvent> {
      throw new Error('boom')
    }
    await createSocketSink(fakeSocket(), { maxBufferedBytes: 100, slowClientTimeoutMs: 50 }).relay('k', failing, (e) => errors.push(e))
    expect(errors).toHaveLength(1)
  })

  test('a client that leaves a few bytes unread (no pong to the ping after them) is closed with 4008 after the timeout', async () => {
    const s = pingingSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 1_000_000, slowClientTimeoutMs: 50 })
    sink.write({ type: 'pong' })
    sink.write({ type: 'pong' })
    expect(s.pings).toHaveLength(1) // one ping out at a time
    expect(await closeOf(s)).toBe(CLOSE_SLOW_CLIENT)
  })

  test('a client that answers the pings stays open, however long the stream', async () => {
    const s = pingingSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 1_000_000, slowClientTimeoutMs: 1_000 })
    let answered = 0
    // Longer than the timeout, writes every 20 ms; the client answers each ping as it reads it.
    for (let i = 0; i < 60; i++) {
      sink.write({ type: 'pong' })
      await Bun.sleep(20)
      // A stale or foreign pong counts for nothing.
      sink.ponged('not-ours')
      if (s.pings.length > answered) sink.ponged(s.pings[answered++]!)
    }
    expect(answered).toBeGreaterThan(1)
    expect(s.closedWith).toBeUndefined()
    sink.closed()
  })

  test('writes made while a ping is out are covered by the next ping, sent when its pong arrives (or the gap ends)', async () => {
    const s = pingingSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 1_000_000, slowClientTimeoutMs: 400 })
    sink.write({ type: 'pong' })
    sink.write({ type: 'pong' }) // after the first ping: not yet read when its pong comes
    sink.ponged(s.pings[0]!)
    // Pings at most one per 100 ms here (a quarter of the timeout): the second waits for its turn.
    expect(s.pings).toHaveLength(1)
    for (let i = 0; i < 100 && s.pings.length < 2; i++) await Bun.sleep(10)
    expect(s.pings).toHaveLength(2)
    // The second ping is never answered.
    expect(await closeOf(s)).toBe(CLOSE_SLOW_CLIENT)
  })

  test('a fast stream to a reading client costs one ping per gap, not one per frame', async () => {
    const s = pingingSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 1_000_000, slowClientTimeoutMs: 400 })
    for (let i = 0; i < 100; i++) {
      sink.write({ type: 'pong' })
      sink.ponged(s.pings.at(-1)!)
    }
    expect(s.pings).toHaveLength(1)
    expect(s.closedWith).toBeUndefined()
    sink.closed()
  })

  test('without pings: bytes queued below maxBufferedBytes with no drain for the timeout close with 4008', async () => {
    const s = fakeSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 1_000_000, slowClientTimeoutMs: 50 })
    s.buffered = 10
    sink.write({ type: 'pong' })
    expect(await closeOf(s)).toBe(CLOSE_SLOW_CLIENT)
  })

  test('without pings: a queue that keeps draining stays open', async () => {
    const s = fakeSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 1_000_000, slowClientTimeoutMs: 1_000 })
    s.buffered = 10
    for (let i = 0; i < 8; i++) {
      sink.write({ type: 'pong' })
      await Bun.sleep(20)
      sink.drained()
    }
    s.buffered = 0
    sink.drained()
    await Bun.sleep(50)
    expect(s.closedWith).toBeUndefined()
    sink.closed()
  })
})
