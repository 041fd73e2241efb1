/**
 * The per-address limit on ratelimit-redis, over a real socket: X-Forwarded-For is ignored
 * without trusted hops; with one, the right-most untrusted address is the key (as
 * test/api/rate-limit.test.ts checks for the memory limiter).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Runtime } from '../../../core/app.ts'
import rateLimitRedis from '../../../plugins/ratelimit-redis/index.ts'
import { registerFrom } from '../../helpers/remote.ts'
import { HOOK_TIMEOUT, startRuntime } from '../../helpers/runtime.ts'
import { describeWith, REDIS_URL, redisMissing } from '../../helpers/services.ts'
import { keysUnder, uniquePrefix, useSharedRedis } from '../../redis/redis.ts'

const prefix = uniquePrefix('client-ip')
const reason = await redisMissing()

const random = () => `10.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}.7`

for (const hops of [0, 1]) {
  describeWith(`anonymous limit per client address on Redis, ${hops} trusted proxy hop(s) [redis]`, reason, () => {
    let rt: Runtime
    let base: string
    const runPrefix = `${prefix}${hops}:`
    beforeAll(async () => {
      rt = await startRuntime({
        anonymous: { requestsPerMinute: 3 },
        server: { port: 0, hostname: '127.0.0.1', trustedProxyHops: hops },
        redis: { url: REDIS_URL, keyPrefix: runPrefix },
        plugins: [rateLimitRedis()],
      })
      base = `http://127.0.0.1:${(await rt.listen()).port}`
    }, HOOK_TIMEOUT)
    afterAll(async () => {
      await rt?.stop()
    }, HOOK_TIMEOUT)
    // After the runtime's hooks: its keys are dropped once it stopped.
    const shared = useSharedRedis(runPrefix)

    test(
      hops === 0
        ? 'X-Forwarded-For is ignored: random values do not get around the limit'
        : 'the right-most untrusted X-Forwarded-For address is the key',
      async () => {
        const statuses: number[] = []
        for (let i = 0; i < 6; i++) statuses.push(await registerFrom(base, `${random()}, ${random()}`))
        if (hops === 0) {
          expect(statuses.filter((s) => s === 201)).toHaveLength(3)
          expect(statuses.slice(3)).toEqual([429, 429, 429])
          expect(await keysUnder(shared.redis, `${runPrefix}rl:{ip:`)).toEqual([`${runPrefix}rl:{ip:127.0.0.1}`])
        } else {
          expect(statuses).toEqual([201, 201, 201, 201, 201, 201])
          const fixed: number[] = []
          for (let i = 0; i < 4; i++) fixed.push(await registerFrom(base, `${random()}, 192.0.2.1`))
          expect(fixed).toEqual([201, 201, 201, 429])
          expect(await keysUnder(shared.redis, `${runPrefix}rl:{ip:192.0.2.1}`)).toHaveLength(1)
          expect(await keysUnder(shared.redis, `${runPrefix}rl:{ip:`)).toHaveLength(7)
        }
      },
    )
  })
}
