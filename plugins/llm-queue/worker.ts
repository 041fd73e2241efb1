/**
 * The worker role: a BullMQ Worker whose processor runs the core's reply runner and writes
 * each event to the job's stream as the job's current owner. Failure policy (README.md):
 * provider errors before any event are retried with backoff; once events were written a
 * job is never retried silently; a job picked up again after its worker was lost ends the
 * stream with WORKER_LOST if tokens had been sent, and its reply is still generated and
 * stored (once, by job id).
 */
import type { Job as BullJob, Worker as BullWorker } from 'bullmq'
import type { Logger } from 'pino'
import { isScaleError, ScaleError, type JobRunner, type RedisClient, type ReplyJob, type Usage } from 'scale-runtime/plugin'
import type { QueueMetrics } from './metrics.ts'
import type { QueueKeys, ResolvedQueueOptions } from './options.ts'
import { createQuota } from './quota.ts'
import { createEventAppender, Lost, type EventAppender } from './appender.ts'
import type { JobStore } from './store.ts'

/** Provider failures worth another attempt, when no token has reached a client yet. */
const RETRYABLE = new Set(['RATE_LIMITED', 'OVERLOADED', 'UPSTREAM_ERROR'])
const HEARTBEAT_MS = 5_000

export interface WorkerDeps {
  /** For BullMQ and the event writes: `maxRetriesPerRequest: null`, so writes wait out a Redis restart. */
  connection: RedisClient
  /** Cancel messages from other instances. */
  subscriber: RedisClient
  keys: QueueKeys
  store: JobStore
  options: ResolvedQueueOptions
  logger: Logger
  metrics?: QueueMetrics
  /** Told synchronously when a job starts and when its runner has returned (this process's stats). */
  onStart(jobId: string): void
  onRunnerEnd(jobId: string): void
}

export interface ReplyWorker {
  /** Abort a job this process runs, if it does (a cancel from this same process). */
  abortLocal(jobId: string, reason: unknown): boolean
  readonly concurrency: number
  /** Stop taking jobs, finish those running within `drainTimeout`, then abort the rest. */
  stop(): Promise<void>
}

export async function startReplyWorker(runner: JobRunner, d: WorkerDeps): Promise<ReplyWorker> {
  const { connection, subscriber, keys, store, options, logger, metrics } = d
  const { Worker, UnrecoverableError } = await import('bullmq')
  const workerId = crypto.randomUUID()
  const quota = options.quota && createQuota(connection, keys.quota(options.quotaScope), options.quota)
  const local = new Map<string, AbortController>()

  async function processJob(bull: BullJob<ReplyJob>): Promise<string> {
    const job = bull.data
    const owner = `${workerId}:${bull.attemptsStarted}`
    const abort = new AbortController()
    local.set(job.id, abort)
    try {
      return await run(bull, job, owner, abort)
    } finally {
      local.delete(job.id)
    }
  }

  async function run(bull: BullJob<ReplyJob>, job: ReplyJob, owner: string, abort: AbortController): Promise<string> {
    const claim = await store.claim(connection, job.id, owner)
    if (claim.state === 'gone' || claim.state === 'ended') return claim.state
    const ticket = await quota?.take(job)
    if (ticket && !ticket.ok) {
      // Over the provider's quota: back in line (same priority), and every worker pauses
      // taking jobs until the window turns (BullMQ's queue-wide rate limit).
      await store.requeue(connection, job.id, owner)
      await worker.rateLimit(ticket.retryAfterMs)
      metrics?.finished.inc({ outcome: 'quota_wait' })
      throw Worker.RateLimitError()
    }
    metrics?.waitSeconds.observe(Math.max(0, Date.now() - bull.timestamp) / 1000)
    const out = createEventAppender({
      connection,
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

    d.onStart(job.id)
    const started = Date.now()
    let runnerDone = false
    const runnerEnded = () => {
      if (!runnerDone) ((runnerDone = true), d.onRunnerEnd(job.id))
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
      await out.flush()
      if (done) {
        if (ticket?.ok) await ticket.settle(done.usage)
        await out.write({ type: 'done', ...done }, { status: 'done', messageId: done.messageId })
        metrics?.finished.inc({ outcome: 'done' })
        return 'done'
      }
      if (abort.signal.aborted) return await aborted(abort.signal.reason, out)
      await out.write({ type: 'error', code: 'INTERNAL', message: 'the reply ended without finishing' }, { status: 'failed' })
      metrics?.finished.inc({ outcome: 'INTERNAL' })
      throw new UnrecoverableError('INTERNAL: the runner ended without done')
    } catch (err) {
      runnerEnded()
      await out.settled()
      if (out.lost) throw out.lost
      if (err instanceof Lost || err instanceof UnrecoverableError) throw err
      if (abort.signal.aborted) return await aborted(abort.signal.reason, out)
      const code = isScaleError(err) ? err.code : 'INTERNAL'
      const attemptsLeft = bull.attemptsMade + 1 < (bull.opts.attempts ?? 1)
      if (RETRYABLE.has(code) && out.seq === 0 && attemptsLeft) {
        // Nothing reached any client: another attempt after BullMQ's backoff is invisible to them.
        await store.requeue(connection, job.id, owner)
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
  async function aborted(reason: unknown, out: EventAppender): Promise<string> {
    if (isScaleError(reason) && reason.code === 'UNAVAILABLE') {
      await out.write({ type: 'error', code: 'UNAVAILABLE', message: reason.message }, { status: 'failed' })
      metrics?.finished.inc({ outcome: 'UNAVAILABLE' })
      throw new UnrecoverableError(`UNAVAILABLE: ${reason.message}`)
    }
    await out.write({ type: 'error', code: 'CANCELLED', message: 'the reply was cancelled' }, { status: 'cancelled' })
    metrics?.finished.inc({ outcome: 'CANCELLED' })
    return 'cancelled'
  }

  const worker: BullWorker<ReplyJob> = new Worker<ReplyJob>(keys.bullQueue, processJob, {
    connection: connection as never,
    prefix: keys.bullPrefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount,
    name: `llm-queue:${workerId}`,
    // Short long-polls keep close() quick; an idle worker costs one command per poll.
    drainDelay: 2,
    // BullMQ honours a manual rate limit (the quota's pause) only with a limiter set; this one
    // never limits by itself.
    ...(quota && { limiter: { max: Number.MAX_SAFE_INTEGER, duration: 1000 } }),
  })
  worker.on('error', (err) => logger.warn({ err: err.message }, 'llm-queue: worker error'))
  worker.on('stalled', (jobId) => logger.warn({ jobId }, 'llm-queue: a job whose worker was lost is picked up again'))
  await worker.waitUntilReady()

  const onCancel = (channel: string, jobId: string) => {
    if (channel === keys.cancelChannel) local.get(jobId)?.abort(new ScaleError('CANCELLED', 'the reply was cancelled'))
  }
  subscriber.on('message', onCancel)
  await subscriber.subscribe(keys.cancelChannel)

  // Live capacity, for the api's "line too long" check: this worker's concurrency, with an expiry.
  const member = `${workerId}|${options.concurrency}`
  const beat = () =>
    connection
      .multi()
      .zadd(keys.workers, Date.now() + 3 * HEARTBEAT_MS, member)
      .zremrangebyscore(keys.workers, '-inf', Date.now())
      .pexpire(keys.workers, 6 * HEARTBEAT_MS)
      .exec()
      .catch(() => {})
  await beat()
  const heartbeat = setInterval(beat, HEARTBEAT_MS)
  heartbeat.unref?.()
  logger.info({ workerId, concurrency: options.concurrency, queue: options.queueName }, 'llm-queue worker started')

  let stopped: Promise<void> | undefined
  return {
    concurrency: options.concurrency,
    abortLocal(jobId, reason) {
      const a = local.get(jobId)
      a?.abort(reason)
      return !!a
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(heartbeat)
        subscriber.off('message', onCancel)
        const closing = worker.close()
        let timer: ReturnType<typeof setTimeout> | undefined
        const drained = await Promise.race([
          closing.then(() => true),
          new Promise<false>((r) => (timer = setTimeout(() => r(false), options.drainTimeoutMs))),
        ])
        clearTimeout(timer)
        if (!drained) {
          logger.warn(
            { jobs: local.size, timeoutMs: options.drainTimeoutMs },
            'llm-queue: jobs still running at the drain deadline; aborting them',
          )
          const reason = new ScaleError('UNAVAILABLE', 'the worker is shutting down; send the message again')
          for (const a of local.values()) a.abort(reason)
          await closing
        }
        await connection.zrem(keys.workers, member).catch(() => {})
        await subscriber.unsubscribe(keys.cancelChannel).catch(() => {})
      })()
      return stopped
    },
  }
}
