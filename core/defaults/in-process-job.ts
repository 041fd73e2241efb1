/**
 * One job of the in-process dispatch: its buffered events (seq 1, 2, 3...), how a runner's
 * output becomes those events, how readers follow them, and how long they are kept.
 */
import { isScaleError } from '../errors.ts'
import type { JobEvent, JobRunner, JobStatus, ReplyJob } from '../ports/llm-dispatch.ts'

export interface Entry {
  id: string
  userId: string
  conversationId: string
  /** Dropped once the job has run, so a finished job keeps only its events. */
  job?: ReplyJob
  status: JobStatus
  messageId?: string
  /** A running job's events in order (`seq` is index + 1); emptied when it ends, for `kept`. */
  events: JobEvent[]
  /** A finished job's events, kept compact for the retention period (see {@link keep}). */
  kept?: Kept
  ended: boolean
  /** Subscribers waiting for the next event. */
  wake: Set<() => void>
  abort: AbortController
  /** Called once, when the final event is pushed. */
  onEnd(e: Entry): void
}

/**
 * A finished job's events as few objects: the deltas' texts joined in one string with where
 * each ends, and the final event. A reply of 24 deltas kept for resuming takes about 1 KB of
 * heap this way, against 3 KB as 25 event objects and their strings; and after a burst of replies,
 * fewer small objects left alive spread over the heap lets it give its memory back. A replay
 * makes each delta again, equal to the one sent live.
 */
interface Kept {
  text: string
  ends: Uint32Array
  last: JobEvent
}

/** Every event before the last of a finished job is a delta: the first other event ends it (push). */
function keep(events: JobEvent[]): Kept {
  const deltas = events.length - 1
  const texts: string[] = new Array(deltas)
  const ends = new Uint32Array(deltas)
  let end = 0
  for (let i = 0; i < deltas; i++) {
    const text = (events[i] as Extract<JobEvent, { type: 'delta' }>).text
    texts[i] = text
    ends[i] = end += text.length
  }
  return { text: texts.join(''), ends, last: events[deltas]! }
}

/** How many events the job has so far. */
const countOf = (e: Entry) => (e.kept ? e.kept.ends.length + 1 : e.events.length)

/** The job's event at index `i` (`seq` i + 1), below {@link countOf}. */
function eventAt(e: Entry, i: number): JobEvent {
  const k = e.kept
  if (!k) return e.events[i]!
  if (i === k.ends.length) return k.last
  return { type: 'delta', text: k.text.slice(i === 0 ? 0 : k.ends[i - 1], k.ends[i]), jobId: e.id, seq: i + 1 }
}

/** An event before it is stamped with `jobId` and `seq`. */
type Bare<E> = E extends unknown ? Omit<E, 'jobId' | 'seq'> : never

export function newEntry(job: ReplyJob, onEnd: (e: Entry) => void): Entry {
  return {
    id: job.id,
    userId: job.userId,
    conversationId: job.conversationId,
    job,
    status: 'queued',
    events: [],
    ended: false,
    wake: new Set(),
    abort: new AbortController(),
    onEnd,
  }
}

/** Append the next event and wake its readers; a final event ends the job. */
export function push(e: Entry, ev: Bare<JobEvent>): void {
  if (e.ended) return
  const event = { ...ev, jobId: e.id, seq: e.events.length + 1 } as JobEvent
  e.events.push(event)
  if (event.type !== 'delta') e.ended = true
  if (e.ended) {
    e.job = undefined
    e.kept = keep(e.events)
    e.events = []
  }
  for (const wake of [...e.wake]) wake()
  if (e.ended) e.onEnd(e)
}

/** End the job with an `error` event and `status`, unless it has ended already. */
export function fail(e: Entry, status: JobStatus, code: string, message: string): void {
  if (e.ended) return
  e.status = status
  push(e, { type: 'error', code, message })
}

/** Run the job's runner to its end, turning what it yields (and how it fails) into events. */
export async function runEntry(e: Entry, runner: JobRunner, onError?: (error: unknown, jobId: string) => void): Promise<void> {
  const signal = e.abort.signal
  try {
    for await (const ev of runner(e.job!, signal)) {
      if (e.ended || signal.aborted) break
      if (ev.type === 'delta') {
        push(e, { type: 'delta', text: ev.text })
      } else if (ev.type === 'done') {
        e.status = 'done'
        e.messageId = ev.messageId
        push(e, { type: 'done', messageId: ev.messageId, usage: ev.usage })
        break
      }
    }
    if (!e.ended && signal.aborted) fail(e, 'cancelled', 'CANCELLED', 'the reply was cancelled')
    else if (!e.ended) fail(e, 'failed', 'INTERNAL', 'the reply ended without finishing')
  } catch (err) {
    if (signal.aborted) fail(e, 'cancelled', 'CANCELLED', 'the reply was cancelled')
    else if (isScaleError(err)) fail(e, 'failed', err.code, err.message)
    else {
      onError?.(err, e.id)
      fail(e, 'failed', 'INTERNAL', 'the reply failed because of an internal error')
    }
  }
}

/** The job's events after `afterSeq`: replayed from the buffer, then followed live until the final one. */
export async function* follow(e: Entry, afterSeq: number, signal?: AbortSignal): AsyncGenerator<JobEvent> {
  // Reading by index (the running job's buffer, which only grows, then its kept form, with the
  // same indices): nothing is lost between replay and live, nor when the job ends mid-replay.
  let next = Math.max(0, Math.floor(afterSeq) || 0)
  while (!signal?.aborted) {
    while (next < countOf(e)) {
      yield eventAt(e, next++)
      if (signal?.aborted) return
    }
    if (e.ended) return
    await new Promise<void>((resolve) => {
      const done = () => {
        e.wake.delete(done)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      e.wake.add(done)
      signal?.addEventListener('abort', done, { once: true })
    })
  }
}

/**
 * Finished jobs forgotten `retentionMs` after they end (the same for all, so they expire in
 * the order they ended): one timer, for the next to go.
 */
export function createRetention(retentionMs: number, forget: (id: string) => void) {
  const expiry: { id: string; at: number }[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false

  function sweep() {
    if (timer || stopped || expiry.length === 0) return
    timer = setTimeout(
      () => {
        timer = undefined
        const now = Date.now()
        let n = 0
        while (n < expiry.length && expiry[n]!.at <= now) forget(expiry[n++]!.id)
        expiry.splice(0, n)
        sweep()
      },
      Math.max(0, expiry[0]!.at - Date.now()),
    )
    timer.unref?.()
  }

  return {
    retire(id: string) {
      expiry.push({ id, at: Date.now() + retentionMs })
      sweep()
    },
    stop() {
      stopped = true
      clearTimeout(timer)
      timer = undefined
    },
  }
}
