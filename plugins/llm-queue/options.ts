/** llm-queue options, their defaults, and their resolution against the core's config (once, at set-up). */
import { ms, type Duration, type ResolvedConfig, type Tier } from 'scale-runtime/plugin'
import type { ResolvedQuota } from './quota.ts'

export interface LlmQueueOptions {
  /**
   * `'none'`: this api process only enqueues and relays; workers started with `npm run worker`
   * call the LLM. `'inline'`: it also runs a worker (one process, or a small deployment).
   * @default 'none'
   */
  worker?: 'inline' | 'none'
  /** Jobs one worker process runs at once. @default config llm.concurrency */
  concurrency?: number
  /** Jobs waiting in line (beyond what the live workers can run at once) before a send is refused. @default config llm.maxQueued */
  maxQueued?: number
  /** How long a finished job's events and state stay readable. @default config llm.eventRetention */
  eventRetention?: Duration
  /** How long an unfinished job's state lives (a bound, for jobs whose every worker vanished). @default '1 h' */
  jobTtl?: Duration
  /** Longest event stream kept per job (XADD MAXLEN ~): above the most tokens of a reply. @default 20_000 */
  maxEvents?: number
  /** BullMQ job lock: a worker that stops renewing it (killed) loses its jobs after this. @default '30 s' */
  lockDuration?: Duration
  /** How often workers look for jobs whose lock expired. @default '30 s' */
  stalledInterval?: Duration
  /** Times a job may be picked up again after its worker was lost before it fails. @default 2 */
  maxStalledCount?: number
  /** On stop (SIGTERM), how long a worker finishes the jobs it has before aborting them. @default '30 s' */
  drainTimeout?: Duration
  /** Provider errors retried before any token reached the client (RATE_LIMITED, OVERLOADED, UPSTREAM_ERROR). */
  retry?: {
    /** Attempts in all, the first included. @default 3 */
    attempts?: number
    /** First backoff, doubled on each retry. @default '1 s' */
    backoff?: Duration
  }
  /** Failed jobs kept in BullMQ for inspection. @default { count: 10_000, age: '7 d' } */
  keepFailed?: { count?: number; age?: Duration }
  /** Completed jobs kept in BullMQ. @default { count: 1000, age: '1 h' } */
  keepCompleted?: { count?: number; age?: Duration }
  /** BullMQ priority per tier (1 runs first). @default { paid: 1, free: 2 } */
  priorities?: Record<Tier, number>
  /** Queue name: two deployments on one Redis and one key prefix need different names. @default 'replies' */
  queueName?: string
  /**
   * Provider quotas for the configured provider+model, shared by every worker. A job that would
   * go over waits in line (all workers pause taking jobs until the window turns); its `position`
   * says where it stands. @default none
   */
  quota?: {
    requestsPerMinute?: number
    /** Reserved at start (`maxTokens` + the prompt's estimate), settled from the provider's usage. */
    tokensPerMinute?: number
    requestsPerDay?: number
    /** Length of the "minute" window; only tests should change it. @default '1 m' */
    minute?: Duration
  }
  /** Longest waiting line per tier; past it a send is refused at once (503 OVERLOADED, Retry-After). @default none */
  maxWaiting?: Partial<Record<Tier, number>>
}

export interface ResolvedQueueOptions {
  worker: 'inline' | 'none'
  concurrency: number
  maxQueued: number
  eventRetentionMs: number
  jobTtlMs: number
  maxEvents: number
  lockDurationMs: number
  stalledIntervalMs: number
  maxStalledCount: number
  drainTimeoutMs: number
  attempts: number
  backoffMs: number
  keepFailed: { count: number; age: number }
  keepCompleted: { count: number; age: number }
  priorities: Record<Tier, number>
  queueName: string
  keyPrefix: string
  quota?: ResolvedQuota
  /** The provider+model the quota counts, e.g. `anthropic:claude-sonnet-4-6`. */
  quotaScope: string
  maxWaiting: Partial<Record<Tier, number>>
}

export function resolveQueueOptions(given: LlmQueueOptions, config: Pick<ResolvedConfig, 'llm' | 'redis'>): ResolvedQueueOptions {
  return {
    worker: given.worker ?? 'none',
    concurrency: given.concurrency ?? config.llm.concurrency,
    maxQueued: given.maxQueued ?? config.llm.maxQueued,
    eventRetentionMs: given.eventRetention === undefined ? config.llm.eventRetentionMs : ms(given.eventRetention),
    jobTtlMs: ms(given.jobTtl ?? '1 h'),
    maxEvents: given.maxEvents ?? 20_000,
    lockDurationMs: ms(given.lockDuration ?? '30 s'),
    stalledIntervalMs: ms(given.stalledInterval ?? '30 s'),
    maxStalledCount: given.maxStalledCount ?? 2,
    drainTimeoutMs: ms(given.drainTimeout ?? '30 s'),
    attempts: Math.max(1, given.retry?.attempts ?? 3),
    backoffMs: ms(given.retry?.backoff ?? '1 s'),
    // BullMQ takes `age` in seconds.
    keepFailed: { count: given.keepFailed?.count ?? 10_000, age: Math.ceil(ms(given.keepFailed?.age ?? '7 d') / 1000) },
    keepCompleted: { count: given.keepCompleted?.count ?? 1000, age: Math.ceil(ms(given.keepCompleted?.age ?? '1 h') / 1000) },
    priorities: given.priorities ?? { paid: 1, free: 2 },
    queueName: given.queueName ?? 'replies',
    keyPrefix: config.redis.keyPrefix,
    quota: given.quota && {
      requestsPerMinute: given.quota.requestsPerMinute ?? 0,
      tokensPerMinute: given.quota.tokensPerMinute ?? 0,
      requestsPerDay: given.quota.requestsPerDay ?? 0,
      minuteMs: ms(given.quota.minute ?? '1 m'),
    },
    quotaScope: `${config.llm.provider}:${config.llm.model}`,
    maxWaiting: given.maxWaiting ?? {},
  }
}

/**
 * Key names. Per job: `<prefix>llmq:{<jobId>}` (state hash) and `…:ev` (event stream), one
 * hash tag so a script can touch both. BullMQ's keys are `<prefix>bull:{<queue>}:…`, all in
 * one slot as BullMQ needs on a cluster.
 */
export function queueKeys(options: Pick<ResolvedQueueOptions, 'keyPrefix' | 'queueName'>) {
  const p = options.keyPrefix
  return {
    job: (id: string) => `${p}llmq:{${id}}`,
    events: (id: string) => `${p}llmq:{${id}}:ev`,
    /** Workers alive and their concurrency: a sorted set scored by when each entry expires. */
    workers: `${p}llmq:{${options.queueName}}:workers`,
    cancelChannel: `${p}llmq:{${options.queueName}}:cancel`,
    quota: (scope: string) => `${p}llmq:quota:{${scope}}`,
    bullPrefix: `${p}bull`,
    bullQueue: `{${options.queueName}}`,
  }
}
export type QueueKeys = ReturnType<typeof queueKeys>
