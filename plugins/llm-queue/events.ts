/**
 * A job's events as one api process relays them: the state and the first page in one round
 * trip, the replay (XRANGE after `afterSeq`), then the live part from the process's shared
 * blocking reader, with an idle check that ends a stream whose job's state is gone for good.
 * Stream ids are `<seq>-0`, so replay and live meet with no gap and no duplicate.
 */
import { quote, ScaleError, type JobEvent, type RedisClient } from 'scale-runtime/plugin'
import type { QueueKeys } from './options.ts'
import type { EventReader } from './reader.ts'
import { decodeEntry, isFinal, parseState, type JobStore } from './store.ts'

/** How long a subscriber waits for live events before checking the job by other means. */
const IDLE_CHECK_MS = 10_000

export interface JobEventsDeps {
  command: RedisClient
  keys: QueueKeys
  store: JobStore
  /** The process's blocking reader (made on first use). */
  reader(): EventReader
}

export async function* jobEvents(d: JobEventsDeps, jobId: string, afterSeq: number, signal?: AbortSignal): AsyncGenerator<JobEvent> {
  let last = Math.max(0, Math.floor(afterSeq) || 0)
  const key = d.keys.events(jobId)
  // The state, then the first page of events, in one round trip: issued in the same turn on the
  // auto-pipelined connection, they share a socket write with whatever else this process sends
  // (no MULTI: events only grow, and a state read first never claims more than the page holds).
  const [flat, first] = await Promise.all([
    d.command.hgetall(d.keys.job(jobId)),
    d.command.xrange(key, `${last + 1}-0`, '+', 'COUNT', 1000) as Promise<[string, string[]][]>,
  ])
  const state = parseState(flat)
  if (!state) throw new ScaleError('NOT_FOUND', `job ${quote(jobId)} not found (unknown, or its events have expired)`)
  let page: [string, string[]][] | undefined = first
  /** XRANGE after `last`; true once the final event was yielded. */
  const replay = async function* () {
    for (;;) {
      const entries = page ?? ((await d.command.xrange(key, `${last + 1}-0`, '+', 'COUNT', 1000)) as [string, string[]][])
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
  const live = d.reader().follow(key, Math.min(last, state.seq))
  /** Idle checks in a row that found no state: the job is gone (Redis lost it, or it expired). */
  let missing = 0
  try {
    while (!signal?.aborted) {
      const batch = await live.next(signal, IDLE_CHECK_MS)
      if (batch.length === 0 && !signal?.aborted) {
        // Quiet for a while: make sure the job still exists and nothing was missed. Redis
        // not answering is no news: ask again at the next check.
        const now = await d.store.read(d.command, jobId).catch(() => undefined)
        if (now === undefined) continue
        if (now === null) {
          // Twice, because a running job's worker writes its state again on its next
          // event (see restore-job.lua); a job that never comes back ends the stream
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
