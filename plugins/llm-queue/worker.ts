/**
 * The worker role: a BullMQ Worker whose processor runs one attempt per job (attempt.ts: the
 * core's reply runner, its events written to the job's stream as the job's current owner),
 * cancels from other instances, a heartbeat with its capacity, and the drain on stop.
 */
import type { Job as BullJob, Worker as BullWorker } from 'bullmq'
import { ScaleError, type JobRunner, type RedisClient, type ReplyJob } from 'scale-runtime/plugin'
import type { QueueKeys, ResolvedQueueOptions } from './options.ts'
import { runAttempt, type AttemptBase, type AttemptDeps } from './attempt.ts'
import { createQuota } from './quota.ts'

const HEARTBEAT_MS = 5_000

export interface WorkerDeps extends AttemptBase {
  /** Cancel messages from other instances. */
  subscriber: RedisClient
  keys: QueueKeys
  options: ResolvedQueueOptions
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
  const attempt: AttemptDeps = {
    ...d,
    runner,
    quota,
    rateLimit: (ms) => worker.rateLimit(ms),
    RateLimitError: () => Worker.RateLimitError(),
    UnrecoverableError,
  }

  async function processJob(bull: BullJob<ReplyJob>): Promise<string> {
    const job = bull.data
    const owner = `${workerId}:${bull.attemptsStarted}`
    const abort = new AbortController()
    local.set(job.id, abort)
    try {
      return await runAttempt(attempt, bull, owner, abort)
    } finally {
      local.delete(job.id)
    }
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

  const member = `${workerId}|${options.concurrency}`
  const heartbeat = await startHeartbeat(connection, keys.workers, member)
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

/** Live capacity, for the api's "line too long" check: this worker's concurrency, with an expiry, renewed every HEARTBEAT_MS. */
async function startHeartbeat(connection: RedisClient, key: string, member: string): Promise<ReturnType<typeof setInterval>> {
  const beat = () =>
    connection
      .multi()
      .zadd(key, Date.now() + 3 * HEARTBEAT_MS, member)
      .zremrangebyscore(key, '-inf', Date.now())
      .pexpire(key, 6 * HEARTBEAT_MS)
      .exec()
      .catch(() => {})
  await beat()
  const timer = setInterval(beat, HEARTBEAT_MS)
  timer.unref?.()
  return timer
}
