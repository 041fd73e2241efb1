/** The in-process llm dispatch: the conformance suite, plus what only this backend promises. */
import { afterEach, describe, expect, test } from 'bun:test'
import { createInProcessDispatch } from '../../core/defaults/in-process-dispatch.ts'
import { ScaleError } from '../../core/errors.ts'
import type { JobEvent, JobRunner, LlmDispatch, ReplyJob } from '../../core/ports/llm-dispatch.ts'
import { llmDispatchSuite, scriptedJob } from 'scale-runtime/testing'

llmDispatchSuite('in-process', (limits) => createInProcessDispatch(limits))

const started: LlmDispatch[] = []
afterEach(async () => {
  for (const d of started.splice(0)) await d.stop()
})

async function dispatchWith(runner: JobRunner, opts: Parameters<typeof createInProcessDispatch>[0] = {}) {
  const d = createInProcessDispatch(opts)
  await d.start(runner)
  started.push(d)
  return d
}

async function collect(d: LlmDispatch, id: string): Promise<JobEvent[]> {
  const out: JobEvent[] = []
  for await (const ev of d.events(id, 0)) out.push(ev)
  return out
}

const quick: JobRunner = async function* (job) {
  yield { type: 'delta', text: 'hi' }
  yield { type: 'done', messageId: `m-${job.id}`, usage: { inputTokens: 1, outputTokens: 1 } }
}

describe('in-process dispatch', () => {
  test('refuses jobs before start, and after stop', async () => {
    const d = createInProcessDispatch()
    await expect(d.submit(scriptedJob())).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    await d.start(quick)
    await d.stop()
    await expect(d.submit(scriptedJob())).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })

  test('start twice is an error', async () => {
    const d = await dispatchWith(quick)
    await expect(d.start(quick)).rejects.toBeInstanceOf(ScaleError)
  })

  test('finished jobs are forgotten after eventRetentionMs', async () => {
    const d = await dispatchWith(quick, { eventRetentionMs: 30 })
    const info = await d.submit(scriptedJob())
    expect((await collect(d, info.id)).map((e) => e.type)).toEqual(['delta', 'done'])
    expect(await d.get(info.id)).not.toBeNull()
    const until = Date.now() + 5_000
    while ((await d.get(info.id)) && Date.now() < until) await Bun.sleep(10)
    expect(await d.get(info.id)).toBeNull()
    await expect(collect(d, info.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  test('a subscriber that started before a job expired still reads all of it', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const d = await dispatchWith(
      async function* (job) {
        await gate
        yield* quick(job, new AbortController().signal)
      },
      { eventRetentionMs: 0 },
    )
    const info = await d.submit(scriptedJob())
    const events = d.events(info.id, 0)
    release()
    while (await d.get(info.id)) await Bun.sleep(5)
    const got: JobEvent[] = []
    for await (const ev of events) got.push(ev)
    expect(got.map((e) => e.seq)).toEqual([1, 2])
  })

  test('a finished job replays from any seq exactly what was sent live, also to a reader mid-replay when it ended', async () => {
    // Texts of every shape: empty, multi-byte, astral, repeated, long.
    const texts = ['', 'héllo ', '🙂 ', 'a', 'a', 'x'.repeat(5000), ' — fin']
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const d = await dispatchWith(async function* (job) {
      for (const [i, text] of texts.entries()) {
        if (i === 3) await gate
        yield { type: 'delta', text }
      }
      yield { type: 'done', messageId: `m-${job.id}`, usage: { inputTokens: 2, outputTokens: 7 } }
    })
    const info = await d.submit(scriptedJob())
    // Live: one reader takes the first three events, then waits while the job ends.
    const live: JobEvent[] = []
    const reader = d.events(info.id, 0)[Symbol.asyncIterator]()
    for (let i = 0; i < 3; i++) live.push((await reader.next()).value as JobEvent)
    release()
    while ((await d.get(info.id))?.status !== 'done') await Bun.sleep(1)
    for (let r = await reader.next(); !r.done; r = await reader.next()) live.push(r.value)
    expect(live.map((e) => (e.type === 'delta' ? e.text : e.type))).toEqual([...texts, 'done'])
    expect(live.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    for (let after = 0; after <= live.length; after++) {
      const replay: JobEvent[] = []
      for await (const ev of d.events(info.id, after)) replay.push(ev)
      expect(replay).toEqual(live.slice(after))
    }
  })

  test('a runner that ends without done fails the job with INTERNAL', async () => {
    const d = await dispatchWith(async function* () {
      yield { type: 'delta', text: 'half' }
    })
    const info = await d.submit(scriptedJob())
    expect((await collect(d, info.id)).at(-1)).toMatchObject({ type: 'error', seq: 2, code: 'INTERNAL' })
    expect((await d.get(info.id))!.status).toBe('failed')
  })

  test('onError hears about non-ScaleError failures; clients do not', async () => {
    const seen: unknown[] = []
    const d = await dispatchWith(
      async function* () {
        throw new Error('db password leaked')
      },
      { onError: (e) => seen.push(e) },
    )
    const info = await d.submit(scriptedJob())
    const last = (await collect(d, info.id)).at(-1) as Extract<JobEvent, { type: 'error' }>
    expect(last.code).toBe('INTERNAL')
    expect(last.message).not.toContain('password')
    expect(seen).toHaveLength(1)
  })

  test('events after a cancel are dropped, and the slot frees once the runner returns', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const d = await dispatchWith(
      async function* (job) {
        yield { type: 'delta', text: 'a' }
        await gate // ignores the signal on purpose
        yield { type: 'delta', text: 'late' }
        yield { type: 'done', messageId: 'm', usage: { inputTokens: 1, outputTokens: 2 } }
      },
      { concurrency: 1 },
    )
    const info = await d.submit(scriptedJob())
    for await (const ev of d.events(info.id, 0)) if (ev.seq === 1) break
    expect(await d.cancel(info.id)).toBe(true)
    const events = await collect(d, info.id)
    expect(events.map((e) => e.type)).toEqual(['delta', 'error'])
    const next = await d.submit(scriptedJob())
    expect(next.status).toBe('queued')
    expect(d.stats()).toEqual({ queued: 1, running: 1 })
    release()
    expect((await collect(d, next.id)).map((e) => e.type)).toEqual(['delta', 'delta', 'done'])
    expect(await d.get(info.id)).toMatchObject({ status: 'cancelled' })
  })

  test('stop ends queued and running jobs with UNAVAILABLE', async () => {
    const d = await dispatchWith(
      async function* (_job, signal) {
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
      },
      { concurrency: 1 },
    )
    const a = await d.submit(scriptedJob())
    const b = await d.submit(scriptedJob())
    await d.stop()
    for (const id of [a.id, b.id]) {
      expect((await collect(d, id)).at(-1)).toMatchObject({ type: 'error', code: 'UNAVAILABLE' })
      expect((await d.get(id))!.status).toBe('failed')
    }
  })

  test('Retry-After is whole seconds, estimated from run times (10 s before any has finished)', async () => {
    const job = (): ReplyJob => scriptedJob()
    const d = await dispatchWith(
      async function* (_j, signal) {
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
      },
      { concurrency: 1, maxQueued: 0 },
    )
    await d.submit(job())
    const error = (await d.submit(job()).catch((e) => e)) as ScaleError
    expect(error.code).toBe('OVERLOADED')
    expect(error.headers).toEqual({ 'Retry-After': '10' })
  })
})
