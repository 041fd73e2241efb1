/**
 * One attempt at a reply job on a worker: claim the job as its owner, take the provider quota,
 * run the core's runner and write its events (appender.ts), and end the stream whatever
 * happens. Failure policy (README.md): provider errors before any event are retried with
 * backoff; once events were written a job is never retried silently; a job picked up again
 * after its worker was lost ends the stream with WORKER_LOST if tokens had been sent, and its
 * reply is still generated and stored (once, by job id).
 */
import type { Job as BullJob, UnrecoverableError as BullUnrecoverable } from 'bullmq'
import type { Logger } from 'pino'
import { isScaleError, type JobRunner, type RedisClient, type ReplyJob, type Usage } from 'scale-runtime/plugin'
import { createEventAppender, Lost, type EventAppender } from './appender.ts'
import type { Quota } from './quota.ts'
import type { QueueMetrics } from './metrics.ts'
import type { JobStore } from './store.ts'

/** Provider failures worth another attempt, when no token has reached a client yet. */
const RETRYABLE = new Set(['RATE_LIMITED', 'OVERLOADED', 'UPSTREAM_ERROR'])

/** What a worker and its attempts share. */
export interface AttemptBase {
  /** For BullMQ: `maxRetriesPerRequest: null`, so its commands wait out a Redis restart. */
  connection: RedisClient
  /**
   * The job-state and event writes (claim, appends, requeue), retried forever like
   * `connection`, on a connection of their own with auto-pipelining: the appends that
   * concurrent jobs make in one turn of the event loop go out in one socket write.
   */
  writes: RedisClient
  store: JobStore
  logger: Logger
  metrics?: QueueMetrics
  /** Told synchronously when a job starts and when its runner has returned (this process's stats). */
  onStart(jobId: string): void
  onRunnerEnd(jobId: string): void
}

/** What an attempt needs from its worker: the shared deps, the runner and quota, and BullMQ's ways to end a job. */
export interface AttemptDeps extends AttemptBase {
  runner: JobRunner
  quota?: Quota
  /** Pause every worker taking jobs for `ms` (BullMQ's queue-wide rate limit). */
  rateLimit(ms: number): Promise<void>
  RateLimitError(): Error
  UnrecoverableError: typeof BullUnrecoverable
}

export async function runAttempt(a: AttemptDeps, bull: BullJob<ReplyJob>, owner: string, abort: AbortController): Promise<string> {
  const { writes, store, logger, metrics, quota, runner, UnrecoverableError } = a
  const job = bull.data
  const claim = await store.claim(writes, job.id, owner)
  if (claim.state === 'gone' || claim.state === 'ended') return claim.state
  const ticket = await quota?.take(job)
  if (ticket && !ticket.ok) {
    // Over the provider's quota: back in line (same priority), and every worker pauses
    // taking jobs until the window turns (BullMQ's queue-wide rate limit).
    await store.requeue(writes, job.id, owner)
    await a.rateLimit(ticket.retryAfterMs)
    metrics?.finished.inc({ outcome: 'quota_wait' })
    throw a.RateLimitError()
  }
  metrics?.waitSeconds.observe(Math.max(0, Date.now() - bull.timestamp) / 1000)
  const out = createEventAppender({
    connection: writes,
    store,
    logger,
    job,
    owner,
    seq: claim.seq,
    silent: claim.state === 'silent',
    abort,
  })
  if (claim.state === 'resumed') {
    // Tokens of the lost attempt reached clients; a new attempt's text would not continue
    // them. End the stream with a code, and still make the reply (stored once by job id).
    metrics?.finished.inc({ outcome: 'worker_lost' })
    await out.write(
      {
        type: 'error',
        code: 'WORKER_LOST',
        message:
          'the worker generating this reply was lost; the reply is being generated again and will be stored in the conversation (see GET /v1/jobs/:id)',
      },
      { status: '' },
    )
    out.quiet()
  }

  a.onStart(job.id)
  const started = Date.now()
  let runnerDone = false
  const runnerEnded = () => {
    if (!runnerDone) ((runnerDone = true), a.onRunnerEnd(job.id))
  }
  let done: { messageId: string; usage: Usage } | undefined
  try {
    for await (const ev of runner(job, abort.signal)) {
      if (abort.signal.aborted) break
      if (ev.type === 'done') {
        done = { messageId: ev.messageId, usage: ev.usage }
        break
      }
      if (!out.silent) await out.send({ type: 'delta', text: ev.text })
    }
    runnerEnded()
    // No flush: the deltas still waiting go in one call with the final event.
    if (done) {
      if (ticket?.ok) await ticket.settle(done.usage)
      await out.write({ type: 'done', ...done }, { status: 'done', messageId: done.messageId })
      metrics?.finished.inc({ outcome: 'done' })
      return 'done'
    }
    if (abort.signal.aborted) return await aborted(a, abort.signal.reason, out)
    await out.write({ type: 'error', code: 'INTERNAL', message: 'the reply ended without finishing' }, { status: 'failed' })
    metrics?.finished.inc({ outcome: 'INTERNAL' })
    throw new UnrecoverableError('INTERNAL: the runner ended without done')
  } catch (err) {
    runnerEnded()
    await out.settled()
    if (out.lost) throw out.lost
    if (err instanceof Lost || err instanceof UnrecoverableError) throw err
    if (abort.signal.aborted) return await aborted(a, abort.signal.reason, out)
    const code = isScaleError(err) ? err.code : 'INTERNAL'
    const attemptsLeft = bull.attemptsMade + 1 < (bull.opts.attempts ?? 1)
    if (RETRYABLE.has(code) && out.seq === 0 && attemptsLeft) {
      // Nothing reached any client: another attempt after BullMQ's backoff is invisible to them.
      await store.requeue(writes, job.id, owner)
      metrics?.finished.inc({ outcome: 'retried' })
      throw err
    }
    if (!isScaleError(err)) logger.error({ err, jobId: job.id }, 'llm-queue: reply runner failed')
    const message = isScaleError(err) ? err.message : 'the reply failed because of an internal error'
    await out.write({ type: 'error', code, message }, { status: 'failed' })
    metrics?.finished.inc({ outcome: code })
    throw new UnrecoverableError(`${code}: ${message}`)
  } finally {
    metrics?.runSeconds.observe((Date.now() - started) / 1000)
  }
}

/** The runner was aborted: by a cancel (the stream is already ended) or by shutdown. */
async function aborted(a: AttemptDeps, reason: unknown, out: EventAppender): Promise<string> {
  const { metrics, UnrecoverableError } = a
  if (isScaleError(reason) && reason.code === 'UNAVAILABLE') {
    await out.write({ type: 'error', code: 'UNAVAILABLE', message: reason.message }, { status: 'failed' })
    metrics?.finished.inc({ outcome: 'UNAVAILABLE' })
    throw new UnrecoverableError(`UNAVAILABLE: ${reason.message}`)
  }
  await out.write({ type: 'error', code: 'CANCELLED', message: 'the reply was cancelled' }, { status: 'cancelled' })
  metrics?.finished.inc({ outcome: 'CANCELLED' })
  return 'cancelled'
}
