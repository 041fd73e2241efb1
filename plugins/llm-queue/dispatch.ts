/**
 * The llm dispatch slot on BullMQ: `submit` enqueues, `events` relays the job's Redis
 * stream, `cancel` reaches whichever worker runs the job. Workers run in their own processes
 * (`npm run worker` → `startWorker`) or, with `worker: 'inline'`, in this one.
 */
import type { Queue as BullQueue } from 'bullmq'
import type { RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { quote, ScaleError, type JobEvent, type JobInfo, type JobRunner, type LlmDispatch, type RedisClient } from 'scale-runtime/plugin'
import { createLine } from './line.ts'
import { createQueueMetrics, type QueueMetrics } from './metrics.ts'
import { queueKeys, type ResolvedQueueOptions } from './options.ts'
import { createEventReader, type EventReader } from './reader.ts'
import { createJobStore, decodeEntry, isFinal, parseState, toInfo } from './store.ts'
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

/** How long a subscriber waits for live events before checking the job by other means. */
const IDLE_CHECK_MS = 10_000

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

  // An api without a worker learns that its jobs started only by asking; keep `stats()` honest.
  const reconcile = setInterval(async () => {
    if (pending.size === 0) return
    const ids = [...pending].slice(0, 500)
    const p = command.pipeline()
    for (const id of ids) p.hget(keys.job(id), 'status')
    const r = await p.exec().catch(() => null)
    r?.forEach(([, status], i) => status !== 'queued' && pending.delete(ids[i]!))
  }, 2_000)
  reconcile.unref?.()

  async function startWorker(r: JobRunner): Promise<void> {
    if (stopped) throw new ScaleError('UNAVAILABLE', 'the llm dispatch is stopping')
    workerStarting ??= (async () => {
      worker = await startReplyWorker(r, {
        // BullMQ wants its worker connection to retry forever; so do the event writes.
        connection: open('llm-queue:worker', { maxRetriesPerRequest: null, commandTimeout: undefined, enableAutoPipelining: false }),
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
      const q = await getQueue()
      // Both at once (one round trip less); a job refused by `admit` is deleted again.
      const [admitted, created] = await Promise.allSettled([line.admit(job.tier), store.create(command, job)])
      if (created.status === 'rejected') throw created.reason
      if (created.value !== true) return toInfo(job.id, created.value)
      if (admitted.status === 'rejected') {
        await command.del(keys.job(job.id)).catch(() => {})
        throw admitted.reason
      }
      try {
        await q.add('reply', job, {
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
      return (async function* (): AsyncGenerator<JobEvent> {
        let last = Math.max(0, Math.floor(afterSeq) || 0)
        const key = keys.events(jobId)
        // The state and the first page of events in one round trip.
        const [[, flat], [, first]] = (await command
          .multi()
          .hgetall(keys.job(jobId))
          .xrange(key, `${last + 1}-0`, '+', 'COUNT', 1000)
          .exec()) as [[unknown, Record<string, string>], [unknown, [string, string[]][]]]
        const state = parseState(flat)
        if (!state) throw new ScaleError('NOT_FOUND', `job ${quote(jobId)} not found (unknown, or its events have expired)`)
        let page: [string, string[]][] | undefined = first
        /** XRANGE after `last`; true once the final event was yielded. */
        const replay = async function* () {
          for (;;) {
            const entries = page ?? ((await command.xrange(key, `${last + 1}-0`, '+', 'COUNT', 1000)) as [string, string[]][])
            page = undefined
            for (const [id, fields] of entries) {
              const ev = decodeEntry(jobId, id, fields)
              last = ev.seq
              yield ev
            }
            if (entries.length < 1000) return
          }
        }
        for await (const ev of replay()) {
          yield ev
          if (isFinal(ev) || signal?.aborted) return
        }
        // Ended before the replay began: the replay had it all (a resume after the last event gets nothing).
        if (state.ended || signal?.aborted) return
        // Follow from what exists, not from `last`: a client that asks after a seq beyond the
        // last one still has to learn when the job ends (its final event has a lower seq).
        const live = getReader().follow(key, Math.min(last, state.seq))
        /** Idle checks in a row that found no state: the job is gone (Redis lost it, or it expired). */
        let missing = 0
        try {
          while (!signal?.aborted) {
            const batch = await live.next(signal, IDLE_CHECK_MS)
            if (batch.length === 0 && !signal?.aborted) {
              // Quiet for a while: make sure the job still exists and nothing was missed. Redis
              // not answering is no news: ask again at the next check.
              const now = await store.read(command, jobId).catch(() => undefined)
              if (now === undefined) continue
              if (now === null) {
                // Twice, because a running job's worker writes its state again on its next
                // event (see append-event.lua); a job that never comes back ends the stream
                // with an error, so no stream stops without a terminal event.
                if (++missing < 2) continue
                yield lostEvent(jobId, last + 1)
                return
              }
              missing = 0
              for await (const ev of replay()) {
                yield ev
                if (isFinal(ev) || signal?.aborted) return
              }
              // Ended, and its final event is at or before `last`: nothing more will come.
              if (now.ended) return
              continue
            }
            for (const [id, fields] of batch) {
              const ev = decodeEntry(jobId, id, fields)
              if (ev.seq <= last) {
                if (isFinal(ev)) return
                continue
              }
              last = ev.seq
              yield ev
              if (isFinal(ev) || signal?.aborted) return
            }
          }
        } finally {
          live.close()
        }
      })()
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

    async health() {
      const [w, c] = await Promise.all([line.liveWorkers(), line.counts()])
      const detail = `${w.workers} worker${w.workers === 1 ? '' : 's'} (${w.slots} slots), ${c.waiting} waiting, ${c.active} running, ${c.failed} failed kept`
      if (w.workers === 0) return { status: 'degraded', detail: `no llm-queue worker is alive (start one with npm run worker); ${detail}` }
      return { status: 'ok', detail }
    },

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

/** The terminal event of a stream whose job's state is gone for good. */
function lostEvent(jobId: string, seq: number): JobEvent {
  return {
    type: 'error',
    jobId,
    seq,
    code: 'UNAVAILABLE',
    message: 'the state of this reply was lost (Redis restarted without its data); send the message again if no reply was stored',
  }
}

async function quit(c: RedisClient): Promise<void> {
  if (c.status === 'end') return
  const ended = new Promise<void>((r) => c.once('end', () => r()))
  c.quit().catch(() => c.disconnect())
  const t = setTimeout(() => c.disconnect(), 1000)
  await ended
  clearTimeout(t)
}
