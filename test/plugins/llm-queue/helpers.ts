/** llm-queue test helpers: a dispatch on the shared test Redis with connections of its own. */
import type { Redis, RedisOptions } from 'ioredis'
import { createLogger } from '../../../core/observability/logger.ts'
import type { JobRunner } from '../../../core/ports/llm-dispatch.ts'
import { createQueueDispatch, type QueueDispatch } from '../../../plugins/llm-queue/dispatch.ts'
import { resolveQueueOptions, type LlmQueueOptions } from '../../../plugins/llm-queue/options.ts'
import { REDIS_URL } from '../../helpers/services.ts'
import { connectRedis } from '../../redis/redis.ts'

/** A dispatch as the plugin builds it, on `url` under `keyPrefix`; `stop()` also closes its command connection. */
export async function makeQueueDispatch(
  keyPrefix: string,
  options: LlmQueueOptions,
  url = REDIS_URL,
  /** Tests only: the clock the quota windows follow (see ResolvedQuota.now). */
  quotaClock?: () => number,
): Promise<QueueDispatch> {
  const command = await connectRedis(url, 500)
  const { Redis } = await import('ioredis')
  const resolved = resolveQueueOptions(options, {
    llm: { concurrency: 4, maxQueued: 100, eventRetentionMs: 60_000 } as never,
    redis: { keyPrefix, commandTimeoutMs: 500 },
  })
  if (quotaClock && resolved.quota) resolved.quota.now = quotaClock
  const d = createQueueDispatch({
    options: resolved,
    command,
    open: (_name, overrides: Partial<RedisOptions>) => {
      const c = new Redis(url, {
        commandTimeout: 500,
        maxRetriesPerRequest: 1,
        retryStrategy: (n) => Math.min(n * 100, 1000),
        ...overrides,
      })
      c.on('error', () => {})
      return c
    },
    logger: createLogger('silent'),
  })
  const stop = d.stop.bind(d)
  let closed: Promise<void> | undefined
  d.stop = () =>
    (closed ??= (async () => {
      await stop()
      await (command as Redis).quit().catch(() => command.disconnect())
    })())
  return d
}

/**
 * An api dispatch (no worker) and a worker dispatch on the same Redis and prefix, both
 * started with `runner`, for the Redis outage tests; a short lock so lost jobs come back fast.
 */
export async function startApiAndWorker(keyPrefix: string, url: string, runner: JobRunner, concurrency: number) {
  const api = await makeQueueDispatch(keyPrefix, { worker: 'none' }, url)
  await api.start(runner)
  const worker = await makeQueueDispatch(keyPrefix, { worker: 'none', concurrency, lockDuration: '5 s', stalledInterval: '1 s' }, url)
  await worker.start(runner)
  await worker.startWorker(runner)
  return { api, worker }
}
