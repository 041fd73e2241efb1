/**
 * Keeps the Redis bench scenario from rotting: about a second per stack, one round; every
 * stack must serve with no errors. It measures nothing. The runtime on memory defaults is
 * left out here (the pipeline smoke test runs it), and redis-lease differs from redis only
 * in its config, which the bench smoke test loads.
 */
import { expect, test } from 'bun:test'
import { runScenario } from '../../bench/harness.ts'
import { options } from '../../bench/run.ts'
import { scenarioNamed } from '../../bench/scenarios.ts'
import { describeWith, redisMissing } from '../helpers/services.ts'

describeWith('bench redis scenario (smoke) [redis]', await redisMissing(), () => {
  test('the redis scenario produces rows with traffic and no errors', async () => {
    const scenario = scenarioNamed('redis')
    const quick = { ...scenario, stacks: scenario.stacks.filter((s) => s.id !== 'runtime-memory') }
    const { rows, skipped } = await runScenario(quick, options({ duration: 1, rounds: 1, warmup: 0, rewarm: 0 }))
    expect(skipped).toBeUndefined()
    expect(rows.map((r) => r.spec.id).sort()).toEqual(['elysia', 'elysia-evalsha', 'fastify-redis', 'runtime'])
    for (const r of rows) {
      expect({ stack: r.spec.id, serving: r.rps > 0, non2xx: r.non2xx, socketErrors: r.socketErrors }).toEqual({
        stack: r.spec.id,
        serving: true,
        non2xx: 0,
        socketErrors: 0,
      })
    }
  }, 180_000)
})
