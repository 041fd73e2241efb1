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

describe('socket sink', () => {
  test('a backed-up socket pauses the stream until it drains, then every event arrives in order', async () => {
    const s = fakeSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 100, slowClientTimeoutMs: 5_000 })
    s.buffered = 1_000
    const pumping = sink.pump(
      'j',
      (signal) => job(5, signal),
      () => {},
    )
    await Bun.sleep(30)
    expect(s.sent.map((e) => e.seq)).toEqual([1]) // paused after the first event
    s.buffered = 0
    sink.drained()
    await pumping
    expect(s.sent.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
    expect(s.closedWith).toBeUndefined()
  })

  test('a client that stays backed up is closed with 4008 after the timeout, not left with a gap', async () => {
    const s = fakeSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 100, slowClientTimeoutMs: 50 })
    s.buffered = 1_000
    await sink.pump(
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
    await sink.pump(
      'j',
      (signal) => job(3, signal),
      () => {},
    )
    expect(s.closedWith).toBe(CLOSE_SLOW_CLIENT)
  })

  test('closing the socket ends its streams; errors of a live stream are reported', async () => {
    const s = fakeSocket()
    const sink = createSocketSink(s, { maxBufferedBytes: 100, slowClientTimeoutMs: 5_000 })
    const pumping = sink.pump(
      'j',
      (signal) => job(1000, signal),
      () => {},
    )
    await Bun.sleep(10)
    sink.closed()
    await pumping
    expect(s.sent.length).toBeLessThan(1000)
    const errors: unknown[] = []
    const failing = async function* (): AsyncGenerator<JobEvent> {
      throw new Error('boom')
    }
    await createSocketSink(fakeSocket(), { maxBufferedBytes: 100, slowClientTimeoutMs: 50 }).pump('k', failing, (e) => errors.push(e))
    expect(errors).toHaveLength(1)
  })
})
