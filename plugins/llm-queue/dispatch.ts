/**
 * The llm dispatch slot on BullMQ: `submit` enqueues, `events` relays the job's Redis
 * stream, `cancel` reaches whichever worker runs the job. Workers run in their own processes
 * (`npm run worker` → `startWorker`) or, with `worker: 'inline'`, in this one.
 */
import type { Queue as BullQueue } from 'bullmq'
import type { RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { ScaleError, type JobInfo, type JobRunner, type LlmDispatch, type RedisClient, type ReplyJob } from 'scale-runtime/plugin'
import { createLine, type Line } from './line.ts'
import { createQueueMetrics, type QueueMetrics } from './metrics.ts'
import { queueKeys, type QueueKeys, type ResolvedQueueOptions } from './options.ts'
import { jobEvents } from './events.ts'
import { createEventReader, type EventReader } from './reader.ts'
import { createJobStore, toInfo, type JobStore } from './store.ts'
import { startReplyWorker, type ReplyWorker } from './worker.ts'

export interface QueueDispatchDeps {
  options: ResolvedQueueOptions
  /** Short commands (the core's shared connection, with its command timeout). */
  command: RedisClient
  /** Open a connection of the dispatch's own (BullMQ, the blocking event reader, the cancel subscriber); closed by `stop`. */
  open(name: string, overrides: Partial<RedisOptions>): RedisClient
  logger: Logger
  metrics?: Registry
}

export interface QueueDispatch extends LlmDispatch {
  /** Run jobs in this process (what `npm run worker` calls); a no-op when already running. */
  startWorker(runner: JobRunner): Promise<void>
  health(): Promise<{ status: 'ok' | 'degraded'; detail: string }>
}

export function createQueueDispatch(d: QueueDispatchDeps): QueueDispatch {
  const { options, command, logger } = d
  const keys = queueKeys(options)
  const store = createJobStore(keys, options)
  const opened: RedisClient[] = []
  const open = (name: string, overrides: Partial<RedisOptions>) => {
    const c = d.open(name, overrides)
    opened.push(c)
    return c
  }
  let queue: BullQueue | undefined
  let queueReady: Promise<BullQueue> | undefined
  let reader: EventReader | undefined
  let worker: ReplyWorker | undefined
  let workerStarting: Promise<void> | undefined
  let runner: JobRunner | undefined
  let stopped: Promise<void> | undefined
  /** Jobs submitted here and not yet known to have started (this process's `stats().queued`). */
  const pending = new Set<string>()
  let running = 0

  function getQueue(): Promise<BullQueue> {
    queueReady ??= (async () => {
      const { Queue } = await import('bullmq')
      queue = new Queue(keys.bullQueue, { connection: open('llm-queue:queue', {}) as never, prefix: keys.bullPrefix })
      queue.on('error', (err) => logger.warn({ err: err.message }, 'llm-queue: queue connection error'))
      await queue.waitUntilReady()
      return queue
    })()
    return queueReady
  }

  function getReader(): EventReader {
    reader ??= createEventReader({
      command,
      // The block is bounded by XREAD itself; the timeout only catches a connection that hangs.
      blocking: open('llm-queue:events', { commandTimeout: 15_000, maxRetriesPerRequest: null, enableAutoPipelining: false }),
      logger,
    })
    return reader
  }

  const line = createLine({
    command,
    keys,
    options,
    localSlots: () => worker?.concurrency ?? 0,
  })
  const metrics: QueueMetrics | undefined =
    d.metrics && createQueueMetrics(d.metrics, { counts: line.counts, workers: () => line.liveWorkers() })

  const reconcile = reconcilePending(command, keys, pending)

  async function startWorker(r: JobRunner): Promise<void> {
    if (stopped) throw new ScaleError('UNAVAILABLE', 'the llm dispatch is stopping')
    workerStarting ??= (async () => {
      worker = await startReplyWorker(r, {
        // BullMQ wants its worker connection to retry forever; so do the event writes.
        connection: open('llm-queue:worker', { maxRetriesPerRequest: null, commandTimeout: undefined, enableAutoPipelining: false }),
        writes: open('llm-queue:writes', { maxRetriesPerRequest: null, commandTimeout: undefined, enableAutoPipelining: true }),
        subscriber: open('llm-queue:cancel', { maxRetriesPerRequest: null, commandTimeout: undefined, enableAutoPipelining: false }),
        keys,
        store,
        options,
        logger,
        metrics,
        onStart(id) {
          pending.delete(id)
          running++
        },
        onRunnerEnd() {
          running--
        },
      })
    })()
    return workerStarting
  }

  return {
    async start(r) {
      if (runner) throw new ScaleError('INTERNAL', 'the llm dispatch was started twice')
      runner = r
      await getQueue()
      if (options.worker === 'inline') await startWorker(r)
    },

    startWorker,

    async submit(job) {
      if (stopped) throw new ScaleError('UNAVAILABLE', 'the llm dispatch is stopping; try another instance')
      if (!runner) throw new ScaleError('UNAVAILABLE', 'the llm dispatch has not been started')
      const known = await enqueue({ queue: await getQueue(), line, store, command, keys, options }, job)
      if (known) return known
      pending.add(job.id)
      return { id: job.id, status: 'queued', userId: job.userId, conversationId: job.conversationId }
    },

    async get(jobId) {
      const s = await store.read(command, jobId)
      if (!s) return null
      if (s.status !== 'queued') pending.delete(jobId)
      return toInfo(jobId, s, s.status === 'queued' ? await line.position(jobId) : undefined)
    },

    events(jobId, afterSeq, signal) {
      return jobEvents({ command, keys, store, reader: getReader }, jobId, afterSeq, signal)
    },

    async cancel(jobId) {
      const before = await store.cancel(command, jobId)
      if (!before) return false
      const reason = new ScaleError('CANCELLED', 'the reply was cancelled')
      pending.delete(jobId)
      if (worker?.abortLocal(jobId, reason)) return true
      if (before === 'queued') {
        // Take it out of the line; if a worker took it meanwhile, it finds it cancelled.
        const removed = await queue?.remove(jobId).catch(() => 0)
        if (removed) return true
      }
      await command.publish(keys.cancelChannel, jobId).catch(() => 0)
      return true
    },

    stats() {
      return { queued: pending.size, running }
    },

    health: () => lineHealth(line),

    stop() {
      stopped ??= (async () => {
        clearInterval(reconcile)
        await workerStarting?.catch(() => {})
        await worker?.stop()
        await reader?.stop()
        await queueReady?.catch(() => {})
        await queue?.close().catch(() => {})
        for (const c of opened.reverse()) await quit(c)
      })()
      return stopped
    },
  }
}

interface EnqueueDeps {
  queue: BullQueue
  line: Line
  store: JobStore
  command: RedisClient
  keys: QueueKeys
  options: ResolvedQueueOptions
}

/**
 * Admit and create the job's state (at once: one round trip less), then add it to BullMQ's
 * line. A job refused by `admit`, or that BullMQ would not take, has its state deleted again.
 * Returns the job already known under this id, or undefined once the new one is in line.
 */
async function enqueue({ queue, line, store, command, keys, options }: EnqueueDeps, job: ReplyJob): Promise<JobInfo | undefined> {
  const [admitted, created] = await Promise.allSettled([line.admit(job.tier), store.create(command, job)])
  if (created.status === 'rejected') throw created.reason
  if (created.value !== true) return toInfo(job.id, created.value)
  if (admitted.status === 'rejected') {
    await command.del(keys.job(job.id)).catch(() => {})
    throw admitted.reason
  }
  try {
    await queue.add('reply', job, {
      jobId: job.id,
      priority: line.priorityOf(job.tier),
      attempts: options.attempts,
      backoff: { type: 'exponential', delay: options.backoffMs },
      removeOnComplete: options.keepCompleted,
      removeOnFail: options.keepFailed,
    })
  } catch (e) {
    await command.del(keys.job(job.id)).catch(() => {})
    throw new ScaleError('UNAVAILABLE', `the reply could not be queued (${(e as Error).message}); retry`, { cause: e })
  }
  return undefined
}

/** An api without a worker learns that its jobs started only by asking: every 2 s, keep `stats()` honest. */
function reconcilePending(command: RedisClient, keys: QueueKeys, pending: Set<string>): ReturnType<typeof setInterval> {
  const timer = setInterval(async () => {
    if (pending.size === 0) return
    const ids = [...pending].slice(0, 500)
    const p = command.pipeline()
    for (const id of ids) p.hget(keys.job(id), 'status')
    const r = await p.exec().catch(() => null)
    r?.forEach(([, status], i) => status !== 'queued' && pending.delete(ids[i]!))
  }, 2_000)
  timer.unref?.()
  return timer
}

/** The dispatch's health from the line: degraded while no worker is alive. */
async function lineHealth(line: Line): Promise<{ status: 'ok' | 'degraded'; detail: string }> {
  const [w, c] = await Promise.all([line.liveWorkers(), line.counts()])
  const detail = `${w.workers} worker${w.workers === 1 ? '' : 's'} (${w.slots} slots), ${c.waiting} waiting, ${c.active} running, ${c.failed} failed kept`
  if (w.workers === 0) return { status: 'degraded', detail: `no llm-queue worker is alive (start one with npm run worker); ${detail}` }
  return { status: 'ok', detail }
}

async function quit(c: RedisClient): Promise<void> {
  if (c.status === 'end') return
  const ended = new Promise<void>((r) => c.once('end', () => r()))
  c.quit().catch(() => c.disconnect())
  const t = setTimeout(() => c.disconnect(), 1000)
  await ended
  clearTimeout(t)
}
