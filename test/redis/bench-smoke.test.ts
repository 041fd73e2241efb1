/**
 * Keeps the Redis bench scenario from rotting: about a second per stack, one round; every
 * stack must serve with no errors. It measures nothing. (redis-lease differs only in its
 * config, which the bench smoke test loads.)
 */
import { expect, test } from 'bun:test'
import { runBench } from '../../bench/run.ts'
import { describeWith, redisMissing } from '../helpers/services.ts'

describeWith('bench redis scenarios (smoke) [redis]', await redisMissing(), () => {
  test('the redis scenario produces rows with traffic and no errors', async () => {
    const { results } = await runBench({ duration: 1, rounds: 1, warmup: 0, rewarm: 0, variants: false, scenarios: ['redis'] })
    for (const { scenario, rows, skipped } of results) {
      expect({ scenario: scenario.name, skipped }).toEqual({ scenario: scenario.name, skipped: undefined })
      for (const r of rows) {
        expect({ stack: r.spec.id, serving: r.rps > 0, non2xx: r.non2xx, socketErrors: r.socketErrors }).toEqual({
          stack: r.spec.id,
          serving: true,
          non2xx: 0,
          socketErrors: 0,
        })
      }
    }
    expect(results[0]!.rows.map((r) => r.spec.id).sort()).toEqual([
      'elysia',
      'elysia-evalsha',
      'fastify-redis',
      'runtime',
      'runtime-memory',
    ])
  }, 180_000)
})
