/**
 * LLM dispatch slot: runs reply jobs and delivers their events to whoever asks.
 *
 * Contract: `submit` takes a plain, serialisable job (no callbacks: the job may run in
 * another process); each job's events carry `seq` 1, 2, 3... with no gaps, end with exactly
 * one `done` or `error`, and stay readable for a while after the end, so `events(id, after)`
 * replays everything after `after` and then follows live; `cancel` aborts the runner's
 * signal wherever the job runs. Concurrency is bounded; jobs beyond it wait in line.
 * Left out on purpose: which provider answers and how the reply is stored (the runner's
 * job, given to `start`).
 */
import type { Tier } from '../types.ts'
import type { Turn } from './session.ts'

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled'

/** Everything a runner needs, as plain data. */
export interface ReplyJob {
  id: string
  userId: string
  tier: Tier
  conversationId: string
  /** The user message this job answers. */
  userMessageId: string
  messages: Turn[]
  system?: string
  maxTokens: number
  /** Session lock the runner releases when the job ends, if any. */
  lock?: { key: string; token: string }
  createdAt: number
}

export interface Usage {
  inputTokens: number
  outputTokens: number
}

export type JobEvent =
  | { type: 'delta'; jobId: string; seq: number; text: string }
  | { type: 'done'; jobId: string; seq: number; messageId: string; usage: Usage }
  | { type: 'error'; jobId: string; seq: number; code: string; message: string }

/** What a runner yields; the dispatch adds `jobId` and `seq`. */
export type RunnerEvent =
  | { type: 'delta'; text: string }
  | { type: 'done'; messageId: string; usage: Usage }

/**
 * Runs one job: yields deltas, then `done`. Throwing a `ScaleError` ends the job with an
 * `error` event carrying its code. `signal` aborts on cancel or shutdown.
 */
export type JobRunner = (job: ReplyJob, signal: AbortSignal) => AsyncIterable<RunnerEvent>

export interface JobInfo {
  id: string
  status: JobStatus
  userId: string
  conversationId: string
  /** The assistant message, once done. */
  messageId?: string
  /** Place in the waiting line (1 = next), while queued. */
  position?: number
}

export interface LlmDispatch {
  /** Give the dispatch its runner; called once by the core before any `submit`. */
  start(runner: JobRunner): Promise<void>
  submit(job: ReplyJob): Promise<JobInfo>
  get(jobId: string): Promise<JobInfo | null>
  /** Events after `afterSeq`, replayed then live, ending after `done` or `error` (or on `signal`). */
  events(jobId: string, afterSeq: number, signal?: AbortSignal): AsyncIterable<JobEvent>
  /** Ask the job to stop; returns false when it had already ended or is unknown. */
  cancel(jobId: string): Promise<boolean>
  stats(): { queued: number; running: number }
  stop(): Promise<void>
}
