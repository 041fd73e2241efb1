/**
 * Conformance suite for the llm dispatch slot: any backend calls `llmDispatchSuite` with a
 * factory and must pass every case.
 *
 * The suite installs its own runner through `start()`. What each job does is written in the
 * job itself (its last message is a JSON script), so backends that serialise jobs work too;
 * the runner must execute in the test's process, because the suite watches it (calls, signals,
 * how many run at once) and releases held jobs directly.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { ScaleError } from '../core/errors.ts'
import type { JobEvent, JobRunner, LlmDispatch, ReplyJob } from '../core/ports/llm-dispatch.ts'

/** The limits the suite needs the backend to be built with. */
export interface DispatchLimits {
  concurrency: number
  maxQueued: number
  eventRetentionMs: number
}

/** What a test job does, carried in its last message. */
export interface JobScript {
  /** Deltas before `done`. @default 3 */
  deltas?: number
  /** Pause before each delta, in ms. @default 0 */
  delayMs?: number
  /** Wait for `probe.release(id)` (or the abort signal) before the first delta. */
  hold?: boolean
  /** Throw after the deltas instead of finishing: a `ScaleError` with this code, or a plain `Error`. */
  fail?: { code: string; message: string } | 'plain'
}

const LIMITS: DispatchLimits = { concurrency: 2, maxQueued: 3, eventRetentionMs: 60_000 }
const WAIT_MS = 5_000

export function scriptedJob(script: JobScript = {}, id: string = crypto.randomUUID()): ReplyJob {
  return {
    id,
    userId: 'user-1',
    tier: 'free',
    conversationId: 'conv-1',
    userMessageId: `user-msg-${id}`,
    messages: [{ role: 'user', content: JSON.stringify(script) }],
    maxTokens: 64,
    createdAt: Date.now(),
  }
}

/** Watches the runner: calls per job, their signals, concurrency, start order, held jobs. */
function makeProbe() {
  const held = new Map<string, () => void>()
  const released = new Set<string>()
  const probe = {
    calls: new Map<string, number>(),
    signals: new Map<string, AbortSignal>(),
    started: [] as string[],
    running: 0,
    maxRunning: 0,
    release(id: string) {
      released.add(id)
      held.get(id)?.()
    },
    releaseAll() {
      for (const id of [...held.keys()]) probe.release(id)
    },
  }
  const pause = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms)
      signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true })
    })
  const gate = (id: string, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (released.has(id)) return resolve()
      held.set(id, resolve)
      signal.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')), { once: true })
    })

  const runner: JobRunner = async function* (job, signal) {
    probe.calls.set(job.id, (probe.calls.get(job.id) ?? 0) + 1)
    probe.signals.set(job.id, signal)
    probe.started.push(job.id)
    probe.maxRunning = Math.max(probe.maxRunning, ++probe.running)
    try {
      const s = JSON.parse(job.messages.at(-1)!.content) as JobScript
      if (s.hold) await gate(job.id, signal)
      const n = s.deltas ?? 3
      for (let i = 1; i <= n; i++) {
        if (s.delayMs) await pause(s.delayMs, signal)
        yield { type: 'delta', text: `t${i} ` }
      }
      if (s.fail === 'plain') throw new Error('secret detail: password=hunter2')
      if (s.fail) throw new ScaleError(s.fail.code as 'UPSTREAM_ERROR', s.fail.message)
      yield { type: 'done', messageId: `assistant-${job.id}`, usage: { inputTokens: 5, outputTokens: n } }
    } finally {
      probe.running--
    }
  }
  return { probe, runner }
}

function withTimeout<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let t: ReturnType<typeof setTimeout>
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))),
  ])
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = WAIT_MS) {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Every event of a job after `afterSeq`, until the stream ends. */
function collect(d: LlmDispatch, id: string, afterSeq = 0, signal?: AbortSignal): Promise<JobEvent[]> {
  return withTimeout(
    (async () => {
      const out: JobEvent[] = []
      for await (const ev of d.events(id, afterSeq, signal)) out.push(ev)
      return out
    })(),
    `events of ${id}`,
  )
}

const seqs = (events: JobEvent[]) => events.map((e) => e.seq)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/**
 * Register the llm dispatch conformance cases for one backend.
 *
 * @example
 * llmDispatchSuite('in-process', (limits) => createInProcessDispatch(limits))
 */
export function llmDispatchSuite(name: string, make: (limits: DispatchLimits) => LlmDispatch | Promise<LlmDispatch>): void {
  describe(`llm dispatch conformance: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c()
    })

    async function setup(limits: Partial<DispatchLimits> = {}) {
      const d = await make({ ...LIMITS, ...limits })
      const { probe, runner } = makeProbe()
      await d.start(runner)
      cleanups.push(async () => {
        probe.releaseAll()
        await withTimeout(d.stop(), 'stop')
      })
      return { d, probe }
    }

    test('events carry seq 1..n with no gaps and end with exactly one done', async () => {
      const { d } = await setup()
      const info = await d.submit(scriptedJob({ deltas: 5, delayMs: 2 }))
      const events = await collect(d, info.id)
      expect(seqs(events)).toEqual(range(1, 6))
      expect(events.slice(0, 5).map((e) => (e as { text: string }).text)).toEqual(['t1 ', 't2 ', 't3 ', 't4 ', 't5 '])
      expect(events.every((e) => e.jobId === info.id)).toBe(true)
      expect(events.at(-1)).toEqual({
        type: 'done',
        jobId: info.id,
        seq: 6,
        messageId: `assistant-${info.id}`,
        usage: { inputTokens: 5, outputTokens: 5 },
      })
      expect(await d.get(info.id)).toMatchObject({ id: info.id, status: 'done', messageId: `assistant-${info.id}` })
    })

    test('a subscriber arriving after the end gets every event', async () => {
      const { d } = await setup()
      const info = await d.submit(scriptedJob({ deltas: 3 }))
      await until(async () => (await d.get(info.id))?.status === 'done', 'the job to finish')
      const events = await collect(d, info.id)
      expect(seqs(events)).toEqual([1, 2, 3, 4])
      expect(events.at(-1)!.type).toBe('done')
    })

    test('resuming after seq k gets k+1..end with no duplicate', async () => {
      const { d } = await setup()
      const info = await d.submit(scriptedJob({ deltas: 6, delayMs: 5 }))
      const first: JobEvent[] = []
      for await (const ev of d.events(info.id, 0)) {
        first.push(ev)
        if (ev.seq === 3) break
      }
      const rest = await collect(d, info.id, 3)
      expect(seqs(first)).toEqual([1, 2, 3])
      expect(seqs(rest)).toEqual([4, 5, 6, 7])
      expect([...first, ...rest]).toEqual(await collect(d, info.id, 0))
      expect(await collect(d, info.id, 7)).toEqual([])
    })

    test('two concurrent subscribers both see every event', async () => {
      const { d, probe } = await setup()
      const info = await d.submit(scriptedJob({ hold: true, deltas: 4, delayMs: 2 }))
      const a = collect(d, info.id)
      const b = collect(d, info.id)
      probe.release(info.id)
      const [ea, eb] = await Promise.all([a, b])
      expect(seqs(ea)).toEqual(range(1, 5))
      expect(eb).toEqual(ea)
    })

    test('cancel of a running job aborts the runner and ends its events with CANCELLED', async () => {
      const { d, probe } = await setup()
      const info = await d.submit(scriptedJob({ hold: true }))
      await until(() => probe.signals.has(info.id), 'the runner to start')
      const events = collect(d, info.id)
      expect(await d.cancel(info.id)).toBe(true)
      const got = await events
      expect(got.at(-1)).toMatchObject({ type: 'error', jobId: info.id, code: 'CANCELLED' })
      expect(seqs(got)).toEqual(range(1, got.length))
      expect(probe.signals.get(info.id)!.aborted).toBe(true)
      expect((await d.get(info.id))!.status).toBe('cancelled')
      expect(await d.cancel(info.id)).toBe(false)
    })

    test('cancel of a queued job ends it without ever running it', async () => {
      const { d, probe } = await setup({ concurrency: 1 })
      const running = await d.submit(scriptedJob({ hold: true }))
      const queued = await d.submit(scriptedJob())
      expect((await d.get(queued.id))!.status).toBe('queued')
      expect(await d.cancel(queued.id)).toBe(true)
      const events = await collect(d, queued.id)
      expect(events).toEqual([expect.objectContaining({ type: 'error', jobId: queued.id, seq: 1, code: 'CANCELLED' })] as JobEvent[])
      probe.release(running.id)
      await collect(d, running.id)
      expect(probe.calls.get(queued.id)).toBeUndefined()
      expect((await d.get(queued.id))!.status).toBe('cancelled')
    })

    test('a ScaleError from the runner ends the job with an error event carrying its code', async () => {
      const { d } = await setup()
      const info = await d.submit(scriptedJob({ deltas: 2, fail: { code: 'UPSTREAM_ERROR', message: 'provider said no' } }))
      const events = await collect(d, info.id)
      expect(events).toEqual([
        { type: 'delta', jobId: info.id, seq: 1, text: 't1 ' },
        { type: 'delta', jobId: info.id, seq: 2, text: 't2 ' },
        { type: 'error', jobId: info.id, seq: 3, code: 'UPSTREAM_ERROR', message: 'provider said no' },
      ])
      expect((await d.get(info.id))!.status).toBe('failed')
    })

    test('any other runner error becomes INTERNAL with a message that leaks nothing', async () => {
      const { d } = await setup()
      const info = await d.submit(scriptedJob({ deltas: 1, fail: 'plain' }))
      const last = (await collect(d, info.id)).at(-1) as Extract<JobEvent, { type: 'error' }>
      expect(last).toMatchObject({ type: 'error', seq: 2, code: 'INTERNAL' })
      expect(last.message).not.toContain('hunter2')
      expect((await d.get(info.id))!.status).toBe('failed')
    })

    test('never more than `concurrency` run at once; the rest wait in FIFO order with positions', async () => {
      const { d, probe } = await setup({ concurrency: 2, maxQueued: 3 })
      const infos = []
      for (let i = 0; i < 5; i++) infos.push(await d.submit(scriptedJob({ hold: true, deltas: 1 })))
      const ids = infos.map((i) => i.id)
      await until(() => probe.running === 2, 'two runners')
      expect(d.stats()).toEqual({ queued: 3, running: 2 })
      expect(infos.slice(2).map((i) => i.status)).toEqual(['queued', 'queued', 'queued'])
      const waiting = await Promise.all(ids.slice(2).map((id) => d.get(id)))
      expect(waiting.map((w) => [w!.status, w!.position])).toEqual([
        ['queued', 1],
        ['queued', 2],
        ['queued', 3],
      ])

      probe.release(ids[0]!)
      await until(() => probe.started.length === 3, 'the first waiting job to start')
      expect((await d.get(ids[3]!))!.position).toBe(1)
      for (const id of ids) probe.release(id)
      for (const id of ids) expect((await collect(d, id)).at(-1)!.type).toBe('done')
      expect(probe.maxRunning).toBe(2)
      expect(probe.started).toEqual(ids)
      expect(d.stats()).toEqual({ queued: 0, running: 0 })
    })

    test('submit beyond maxQueued is refused with OVERLOADED and a Retry-After', async () => {
      const { d } = await setup({ concurrency: 1, maxQueued: 2 })
      for (let i = 0; i < 3; i++) await d.submit(scriptedJob({ hold: true }))
      const refused = scriptedJob()
      const error = await d.submit(refused).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(ScaleError)
      expect((error as ScaleError).code).toBe('OVERLOADED')
      expect((error as ScaleError).headers?.['Retry-After']).toMatch(/^\d+$/)
      expect(await d.get(refused.id)).toBeNull()
    })

    test('submitting a known job id again returns that job and never runs it twice', async () => {
      const { d, probe } = await setup()
      const job = scriptedJob({ deltas: 2, delayMs: 2 })
      const [a, b] = await Promise.all([d.submit(job), d.submit(job)])
      expect(a.id).toBe(job.id)
      expect(b.id).toBe(job.id)
      await collect(d, job.id)
      const again = await d.submit(job)
      expect(again).toMatchObject({ id: job.id, status: 'done' })
      expect(probe.calls.get(job.id)).toBe(1)
      expect(seqs(await collect(d, job.id))).toEqual([1, 2, 3])
    })

    test('unknown jobs: get is null, cancel is false, events throws NOT_FOUND', async () => {
      const { d } = await setup()
      const id = crypto.randomUUID()
      expect(await d.get(id)).toBeNull()
      expect(await d.cancel(id)).toBe(false)
      await expect(collect(d, id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    })

    test('resuming after a seq beyond the last, on a running job, ends when the job ends', async () => {
      const { d, probe } = await setup()
      const info = await d.submit(scriptedJob({ hold: true, deltas: 2 }))
      await until(() => probe.signals.has(info.id), 'the runner to start')
      const events = collect(d, info.id, 1000)
      probe.release(info.id)
      expect(await events).toEqual([])
      expect((await d.get(info.id))!.status).toBe('done')
    })

    test('events end quietly when the subscriber aborts; the job goes on', async () => {
      const { d, probe } = await setup()
      const info = await d.submit(scriptedJob({ hold: true }))
      const ac = new AbortController()
      const events = collect(d, info.id, 0, ac.signal)
      await until(() => probe.signals.has(info.id), 'the runner to start')
      ac.abort()
      expect(await events).toEqual([])
      expect((await d.get(info.id))!.status).toBe('running')
      probe.release(info.id)
      expect((await collect(d, info.id)).at(-1)!.type).toBe('done')
    })

    test('stop aborts running jobs, ends their events, and can be called twice', async () => {
      const { d, probe } = await setup()
      const info = await d.submit(scriptedJob({ hold: true }))
      await until(() => probe.signals.has(info.id), 'the runner to start')
      const events = collect(d, info.id)
      await withTimeout(d.stop(), 'stop')
      expect(probe.signals.get(info.id)!.aborted).toBe(true)
      expect((await events).at(-1)!.type).toBe('error')
      await withTimeout(d.stop(), 'second stop')
    })
  })
}
