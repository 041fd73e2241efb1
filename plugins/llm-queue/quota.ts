/**
 * Provider quotas shared by every worker: requests and tokens per minute and requests per
 * day for one provider+model, as Redis counters changed by lua/quota-*.lua. Tokens are
 * reserved when a job starts (its `maxTokens` plus an estimate of the prompt) and settled
 * from the provider's usage when it ends.
 */
import { loadScript, runScript, type RedisClient, type ReplyJob, type Usage } from 'scale-runtime/plugin'

const TAKE = loadScript(new URL('./lua/quota-take.lua', import.meta.url))
const SETTLE = loadScript(new URL('./lua/quota-settle.lua', import.meta.url))

export interface ResolvedQuota {
  requestsPerMinute: number
  tokensPerMinute: number
  requestsPerDay: number
  minuteMs: number
  /** Tests only: the clock the windows follow, instead of the Redis server's (which every worker shares). */
  now?: () => number
}

/** What a job is expected to use: its reply budget plus about one token per 4 characters of prompt. */
export const reservation = (job: ReplyJob) =>
  job.maxTokens + Math.ceil(((job.system?.length ?? 0) + job.messages.reduce((n, m) => n + m.content.length, 0)) / 4)

export function createQuota(redis: RedisClient, key: string, q: ResolvedQuota) {
  return {
    /** Allowed (with a ticket to settle), or the ms until it would be. */
    async take(job: ReplyJob): Promise<{ ok: true; settle(usage: Usage): Promise<void> } | { ok: false; retryAfterMs: number }> {
      const reserved = reservation(job)
      const [allowed, wait, window] = await runScript<[number, number, number]>(
        redis,
        TAKE,
        [key],
        [q.requestsPerMinute, q.tokensPerMinute, q.requestsPerDay, reserved, q.minuteMs, ...(q.now ? [q.now()] : [])],
      )
      if (allowed !== 1) return { ok: false, retryAfterMs: Math.max(1, Number(wait)) }
      return {
        ok: true,
        async settle(usage) {
          const used = usage.inputTokens + usage.outputTokens
          if (used !== reserved) await runScript(redis, SETTLE, [key], [window, used - reserved]).catch(() => {})
        },
      }
    },
  }
}
export type Quota = ReturnType<typeof createQuota>
