/** Default llm dispatch slot: runs reply jobs in this process, bounded, with replayable events. */
import { ScaleError, quote } from '../errors.ts'
import type { JobEvent, JobInfo, JobRunner, LlmDispatch } from '../ports/llm-dispatch.ts'
import { createRetention, fail, follow, newEntry, runEntry, type Entry } from './in-process-job.ts'

export interface InProcessDispatchOptions {
  /** Jobs running at once. @default 32 */
  concurrency?: number
  /** Jobs waiting in line before `submit` refuses with `OVERLOADED`. @default 1000 */
  maxQueued?: number
  /** How long a finished job's events stay readable, in ms. @default 600_000 */
  eventRetentionMs?: number
  /** Told about runner failures that are not `ScaleError`s (clients only see `INTERNAL`). */
  onError?: (error: unknown, jobId: string) => void
}

/**
 * The single-process llm dispatch: at most `concurrency` runners at once, then a FIFO waiting
 * line of up to `maxQueued` jobs. Each job's events are buffered with `seq` 1, 2, 3... and kept
 * for `eventRetentionMs` after the end, so `events(id, afterSeq)` can replay then follow live.
 *
 * Decisions the port leaves open: iterating `events` of an unknown (or expired) job throws
 * `NOT_FOUND`; `submit` with an id already known returns that job's info and never runs it
 * again; a cancel ends the job's events at once (error `CANCELLED`) while its slot stays taken
 * until the runner has returned; `stop` ends unfinished jobs with error `UNAVAILABLE`.
 *
 * @example
 * const dispatch = createInProcessDispatch({ concurrency: 8, maxQueued: 100 })
 * await dispatch.start(runner)
 * const info = await dispatch.submit(job)
 * for await (const ev of dispatch.events(info.id, 0)) send(ev)
 */
export function createInProcessDispatch(opts: InProcessDispatchOptions = {}): LlmDispatch {
  const { concurrency = 32, maxQueued = 1000, eventRetentionMs = 600_000, onError } = opts
  const jobs = new Map<string, Entry>()
  const waiting: Entry[] = []
  const active = new Set<Promise<void>>()
  const retention = createRetention(eventRetentionMs, (id) => jobs.delete(id))
  let runner: JobRunner | undefined
  let stopped = false
  let running = 0
  /** Moving average of run time, for the `Retry-After` of a full line. */
  let avgRunMs = 10_000

  const info = (e: Entry): JobInfo => {
    const out: JobInfo = { id: e.id, status: e.status, userId: e.userId, conversationId: e.conversationId }
    if (e.messageId) out.messageId = e.messageId
    if (e.status === 'queued') out.position = waiting.indexOf(e) + 1
    return out
  }

  async function run(e: Entry) {
    const started = Date.now()
    e.status = 'running'
    running++
    try {
      await runEntry(e, runner!, onError)
    } finally {
      running--
      avgRunMs = avgRunMs * 0.8 + (Date.now() - started) * 0.2
      launchWaiting()
    }
  }

  function launchWaiting() {
    while (!stopped && running < concurrency && waiting.length > 0) launch(waiting.shift()!)
  }

  function launch(e: Entry) {
    const p = run(e)
    active.add(p)
    void p.finally(() => active.delete(p))
  }

  return {
    async start(r) {
      if (runner) throw new ScaleError('INTERNAL', 'the llm dispatch was started twice')
      runner = r
    },

    async submit(job) {
      const known = jobs.get(job.id)
      if (known) return info(known)
      if (stopped) throw new ScaleError('UNAVAILABLE', 'the llm dispatch is stopping; try another instance')
      if (!runner) throw new ScaleError('UNAVAILABLE', 'the llm dispatch has not been started')
      if (running >= concurrency && waiting.length >= maxQueued) {
        const seconds = Math.min(60, Math.max(1, Math.ceil(avgRunMs / concurrency / 1000)))
        throw new ScaleError(
          'OVERLOADED',
          `too many replies in progress (${running} running, ${waiting.length} waiting, limit ${maxQueued}); retry in ${seconds} s`,
          { headers: { 'Retry-After': String(seconds) } },
        )
      }
      const e = newEntry(job, (ended) => retention.retire(ended.id))
      jobs.set(job.id, e)
      if (running < concurrency) launch(e)
      else waiting.push(e)
      return info(e)
    },

    async get(jobId) {
      const e = jobs.get(jobId)
      return e ? info(e) : null
    },

    events(jobId, afterSeq, signal) {
      const e = jobs.get(jobId)
      if (e) return follow(e, afterSeq, signal)
      return (async function* (): AsyncGenerator<JobEvent> {
        throw new ScaleError('NOT_FOUND', `job ${quote(jobId)} not found (unknown, or its events have expired)`)
      })()
    },

    async cancel(jobId) {
      const e = jobs.get(jobId)
      if (!e || e.ended) return false
      const queuedAt = waiting.indexOf(e)
      if (queuedAt >= 0) waiting.splice(queuedAt, 1)
      e.abort.abort(new ScaleError('CANCELLED', 'the reply was cancelled'))
      fail(e, 'cancelled', 'CANCELLED', 'the reply was cancelled')
      return true
    },

    stats() {
      return { queued: waiting.length, running }
    },

    async stop() {
      if (!stopped) {
        stopped = true
        const reason = new ScaleError('UNAVAILABLE', 'the server is shutting down; retry the reply')
        for (const e of waiting.splice(0)) fail(e, 'failed', reason.code, reason.message)
        for (const e of jobs.values()) {
          if (e.ended || e.status !== 'running') continue
          e.abort.abort(reason)
          fail(e, 'failed', reason.code, reason.message)
        }
        retention.stop()
      }
      await Promise.allSettled([...active])
    },
  }
}
