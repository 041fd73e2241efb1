/**
 * A reply job's state in Redis: a hash (status, owner, ids, last seq) and a stream of its
 * events, changed only through the scripts in lua/ so each change is atomic.
 */
import { loadScript, runScript, type JobEvent, type JobInfo, type JobStatus, type RedisClient, type ReplyJob } from 'scale-runtime/plugin'
import type { QueueKeys, ResolvedQueueOptions } from './options.ts'

const script = (name: string) => loadScript(new URL(`./lua/${name}.lua`, import.meta.url))
const CREATE = script('create-job')
const RESTORE = script('restore-job')
const CLAIM = script('claim-job')
const APPEND = script('append-events')
const CANCEL = script('cancel-job')
const REQUEUE = script('requeue-job')

/** An event before it is stamped with `jobId` and `seq`. */
export type BareEvent = JobEvent extends infer E ? (E extends unknown ? Omit<E, 'jobId' | 'seq'> : never) : never

export type ClaimState = 'gone' | 'ended' | 'fresh' | 'resumed' | 'silent'

/** What `append` found: the seq written, or why nothing was. */
export type AppendResult = number | 'ended' | 'not-owner' | 'gone'

export interface JobState {
  status: JobStatus
  userId: string
  conversationId: string
  messageId?: string
  tier?: string
  seq: number
  ended: boolean
  createdAt?: number
}

export function parseState(flat: string[] | Record<string, string>): JobState | null {
  const h: Record<string, string> = Array.isArray(flat) ? {} : flat
  if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!
  if (!h.status) return null
  return {
    status: h.status as JobStatus,
    userId: h.userId ?? '',
    conversationId: h.conversationId ?? '',
    messageId: h.messageId || undefined,
    tier: h.tier,
    seq: Number(h.seq ?? 0),
    ended: h.ended === '1',
    createdAt: h.createdAt ? Number(h.createdAt) : undefined,
  }
}

export function toInfo(id: string, s: JobState, position?: number): JobInfo {
  const out: JobInfo = { id, status: s.status, userId: s.userId, conversationId: s.conversationId }
  if (s.messageId) out.messageId = s.messageId
  if (position !== undefined) out.position = position
  return out
}

/** A stream entry (`<seq>-0`, fields `d` JSON) back into the event clients see. */
export function decodeEntry(jobId: string, id: string, fields: string[]): JobEvent {
  const seq = Number(id.slice(0, id.indexOf('-')))
  let data = '{}'
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'd') data = fields[i + 1]!
  return { ...(JSON.parse(data) as BareEvent), jobId, seq } as JobEvent
}

/** An append script's answer: the seq written, or why nothing was. */
function appendResult(r: number, id: string, seq: number): AppendResult {
  if (r > 0) return r
  if (r === 0) return 'ended'
  if (r === -1) return 'not-owner'
  if (r === -2) return 'gone'
  throw new Error(`llm-queue: event ${seq} of job ${id} is not the next one`)
}

export const isFinal = (e: { type: string }) => e.type !== 'delta'

export function createJobStore(keys: QueueKeys, options: ResolvedQueueOptions) {
  return {
    /** true when created; otherwise the job that already has this id. */
    async create(redis: RedisClient, job: ReplyJob): Promise<true | JobState> {
      const r = await runScript<1 | string[]>(
        redis,
        CREATE,
        [keys.job(job.id)],
        [job.userId, job.conversationId, job.tier, job.createdAt, options.jobTtlMs],
      )
      return r === 1 ? true : (parseState(r) ?? true)
    },

    async read(redis: RedisClient, id: string): Promise<JobState | null> {
      return parseState(await redis.hgetall(keys.job(id)))
    },

    async claim(redis: RedisClient, id: string, owner: string): Promise<{ state: ClaimState; seq: number }> {
      const [state, seq] = await runScript<[ClaimState, number]>(redis, CLAIM, [keys.job(id)], [owner, Date.now(), options.jobTtlMs])
      return { state, seq: Number(seq) }
    },

    /**
     * Write events `firstSeq`, `firstSeq + 1`... as `owner` in one call; with `final`, the last
     * of them ends the stream and records `status` ('' keeps it) and `messageId`. The last seq
     * of the run when written.
     */
    async append(
      redis: RedisClient,
      id: string,
      owner: string,
      firstSeq: number,
      events: BareEvent[],
      final?: { status: JobStatus | ''; messageId?: string },
    ): Promise<AppendResult> {
      const r = await runScript<number>(
        redis,
        APPEND,
        [keys.job(id), keys.events(id)],
        [
          owner,
          firstSeq,
          options.maxEvents,
          options.jobTtlMs,
          final ? '1' : '0',
          final?.status ?? '',
          final?.messageId ?? '',
          options.eventRetentionMs,
          ...events.map((e) => JSON.stringify(e)),
        ],
      )
      return appendResult(r, id, firstSeq)
    },

    /**
     * Write a running job's state and its events `firstSeq`.. again, after Redis lost them.
     * The last seq written, or 'not-owner' when the state is back already.
     */
    async restore(redis: RedisClient, job: ReplyJob, owner: string, firstSeq: number, events: BareEvent[]): Promise<number | 'not-owner'> {
      const r = await runScript<number>(
        redis,
        RESTORE,
        [keys.job(job.id), keys.events(job.id)],
        [
          owner,
          job.userId,
          job.conversationId,
          job.tier,
          job.createdAt,
          options.jobTtlMs,
          options.maxEvents,
          firstSeq,
          ...events.map((e) => JSON.stringify(e)),
        ],
      )
      return r < 0 ? 'not-owner' : r
    },

    /** The status before the cancel (`queued` or `running`), or null when it had ended or is unknown. */
    async cancel(redis: RedisClient, id: string): Promise<'queued' | 'running' | null> {
      const ev: BareEvent = { type: 'error', code: 'CANCELLED', message: 'the reply was cancelled' }
      const r = await runScript<0 | string>(
        redis,
        CANCEL,
        [keys.job(id), keys.events(id)],
        [JSON.stringify(ev), options.maxEvents, options.eventRetentionMs],
      )
      return r === 0 ? null : (r as 'queued' | 'running')
    },

    /** A retry waits in line again (BullMQ backoff). */
    async requeue(redis: RedisClient, id: string, owner: string): Promise<void> {
      await runScript(redis, REQUEUE, [keys.job(id)], [owner])
    },
  }
}
export type JobStore = ReturnType<typeof createJobStore>
