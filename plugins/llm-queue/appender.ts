/**
 * The event-append window of one job attempt: writes the attempt's events to the job's stream
 * as its owner, in seq order, and tells the worker what Redis answered (another attempt owns
 * the job, the stream was ended by a cancel, the state is gone and must be restored).
 *
 * Deltas do not wait for Redis: the first goes out after one turn of the event loop, with the
 * deltas yielded meanwhile, and those that come while a call is in flight are written together
 * in one script call when it is answered (one call in flight at a time, so seq order holds; at
 * most `MAX_BATCH` wait before `send` waits too). A final event (`write`) waits for the call in
 * flight, then goes in one call with the deltas that were still waiting.
 */
import type { Logger } from 'pino'
import { ScaleError, type RedisClient, type ReplyJob } from 'scale-runtime/plugin'
import type { AppendResult, BareEvent, JobStore } from './store.ts'

/** Deltas waiting for the call in flight before `send` waits for it. */
const MAX_BATCH = 256

/** Another attempt owns the job now: this one stops. */
export class Lost extends Error {}

/** What a final event records with it (see JobStore['append']). */
export type FinalFields = Parameters<JobStore['append']>[5]

export interface AppenderDeps {
  connection: RedisClient
  store: JobStore
  logger: Logger
  job: ReplyJob
  owner: string
  /** The last seq written before this attempt (from the claim). */
  seq: number
  /** True when this attempt writes no deltas (a rerun after its stream ended). */
  silent: boolean
  /** Aborted when the attempt is lost or its stream was ended by a cancel from elsewhere. */
  abort: AbortController
}

export interface EventAppender {
  /** The last seq given to an event (written or on its way). */
  readonly seq: number
  /** True once this attempt writes no more deltas. */
  readonly silent: boolean
  quiet(): void
  /** Queue a delta; waits only when `MAX_BATCH` are waiting. Throws `Lost` once known lost. */
  send(ev: BareEvent): Promise<void>
  /** Write a final event (or WORKER_LOST) after every delta, in one call with those not written yet. */
  write(ev: BareEvent, final: FinalFields): Promise<AppendResult>
  /** Wait for the call in flight, whatever it answers (on the way out after a failure). */
  settled(): Promise<void>
  /** Set once Redis answered that another attempt owns the job. */
  readonly lost: Lost | undefined
}

export function createEventAppender(d: AppenderDeps): EventAppender {
  const { connection, store, logger, job, owner, abort } = d
  let seq = d.seq
  let silent = d.silent
  /** Events this attempt wrote, from seq `firstSeq`: what a restore writes again. */
  const firstSeq = seq + 1
  const history: BareEvent[] = []
  let lost: Lost | undefined
  /** Redis answered that the job's state is gone (restarted without its data): restore before writing on. */
  let gone = false
  /** Deltas not sent yet, from seq `queuedFrom`. */
  let queued: BareEvent[] = []
  let queuedFrom = 0
  let inFlight: Promise<void> | undefined
  /** Set while `write` waits for the call in flight: the deltas still queued go with its event. */
  let ending = false
  /** A call that failed (Redis error): thrown by the next flush. */
  let failure: unknown

  function settle(r: AppendResult): AppendResult {
    if (r === 'gone') gone = true
    else if (r === 'not-owner' && !lost) {
      lost = new Lost(r)
      abort.abort(lost)
    } else if (r === 'ended' && !silent) {
      // Cancelled from another instance before the message reached us: stop the provider.
      silent = true
      abort.abort(new ScaleError('CANCELLED', 'the reply was cancelled'))
    }
    return r
  }

  async function restore() {
    gone = false
    // The restore writes every event of this attempt, the deltas not sent yet included.
    queued = []
    const r = await store.restore(connection, job, owner, firstSeq, history)
    if (r === 'not-owner') settle('not-owner')
    else logger.warn({ jobId: job.id, seq: r }, 'llm-queue: the job state was gone from Redis; written again by its worker')
  }

  /** Send what is queued, one call at a time, until nothing is left or Redis says to stop. */
  function ship() {
    inFlight = (async () => {
      try {
        // One turn of the event loop first: the deltas a provider yields meanwhile go in the same call.
        await new Promise((r) => setImmediate(r))
        while (queued.length && !gone && !lost && !ending) {
          const events = queued
          const from = queuedFrom
          queued = []
          settle(await store.append(connection, job.id, owner, from, events))
        }
      } catch (e) {
        failure ??= e
      } finally {
        // Cleared in the same step as the loop's last check: a delta queued after it starts a new call.
        inFlight = undefined
      }
    })()
  }

  /**
   * Wait for the call in flight (which sends what is queued, unless `write` is ending), restore
   * the state if Redis lost it, and throw what the calls met.
   */
  async function flush() {
    while (inFlight) await inFlight
    if (failure) throw failure
    if (gone) await restore()
    if (lost) throw lost
  }

  return {
    get seq() {
      return seq
    },
    get silent() {
      return silent
    },
    get lost() {
      return lost
    },
    quiet() {
      silent = true
    },

    async send(ev) {
      if (gone || failure) await flush()
      history.push(ev)
      if (queued.length === 0) queuedFrom = seq + 1
      queued.push(ev)
      seq++
      if (!inFlight) ship()
      else if (queued.length >= MAX_BATCH) await inFlight
    },

    async write(ev, final) {
      ending = true
      try {
        await flush()
        const events = [...queued, ev]
        const from = queued.length ? queuedFrom : seq + 1
        queued = []
        let r = settle(await store.append(connection, job.id, owner, from, events, final))
        if (r === 'gone') {
          // The restore writes the deltas of this call again (they are in `history`).
          await restore()
          if (lost) throw lost
          r = settle(await store.append(connection, job.id, owner, seq + 1, [ev], final))
        }
        if (typeof r === 'number') {
          history.push(ev)
          seq = r
        }
        if (lost) throw lost
        return r
      } finally {
        ending = false
      }
    },

    async settled() {
      while (inFlight) await inFlight
    },
  }
}
