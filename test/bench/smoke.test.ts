/**
 * Keeps the bench scripts from rotting: each scenario for about a second, one round, and
 * checks the harness produced rows with traffic and no errors. It measures nothing.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ScenarioResult } from '../../bench/harness.ts'
import { ADMIN_URL } from '../../bench/postgres.ts'
import { runBench } from '../../bench/run.ts'
import { loadConfig } from '../../core/config/load.ts'
import { describeWith, postgresMissing } from '../helpers/services.ts'
import { denoMissing } from '../deno/deno.ts'
import postgres from 'postgres'

// No warm-up and no hook-off variants: start-up of each runtime (embedded database) is most of the time.
const QUICK = { duration: 1, rounds: 1, warmup: 0, rewarm: 0, variants: false }
const TIMEOUT = 120_000
const postgresReason = await postgresMissing()

function expectClean({ scenario, rows, skipped }: ScenarioResult) {
  expect(skipped).toBeUndefined()
  expect(rows.map((r) => r.spec.role)).toContain('runtime')
  expect(rows.map((r) => r.spec.role)).toContain('elysia')
  for (const r of rows) {
    expect({ scenario: scenario.name, stack: r.spec.id, serving: r.rps > 0 }).toEqual({
      scenario: scenario.name,
      stack: r.spec.id,
      serving: true,
    })
    expect({ stack: r.spec.id, non2xx: r.non2xx, socketErrors: r.socketErrors }).toEqual({ stack: r.spec.id, non2xx: 0, socketErrors: 0 })
  }
}

describe('bench (smoke)', () => {
  test('every bench config loads and keeps limits the load cannot reach', async () => {
    const dir = fileURLToPath(new URL('../../bench/configs/', import.meta.url))
    for (const file of readdirSync(dir).filter((f) => f !== 'base.ts')) {
      const config = await loadConfig({}, `${dir}${file}`)
      expect(config.tiers.free.requestsPerMinute.api).toBeGreaterThanOrEqual(100_000_000)
      expect(config.plugins.length).toBeGreaterThan(0)
    }
  })

  test(
    'pipeline produces rows with traffic and no errors',
    async () => {
      const { results, report } = await runBench({ ...QUICK, scenarios: ['pipeline'] })
      results.forEach(expectClean)
      expect(results[0]!.rows.map((r) => r.spec.role)).toContain('fastify')
      expect(report).toContain('| runtime (default config) |')
      expect(report).toContain('| bare Elysia + X-Request-Id (reference) |')
      expect(report).toContain('Against bare Elysia that also sets the X-Request-Id')
      expect(report).toContain('| bare Elysia doing the same work by hand (reference) |')
      expect(report).toContain("Against bare Elysia doing the pipeline route's work by hand")
    },
    TIMEOUT,
  )

  // Health runs on autocannon: where wrk is installed the fallback would otherwise never run.
  test(
    'health produces rows with traffic and no errors (on the autocannon fallback)',
    async () => {
      const { results } = await runBench({ ...QUICK, scenarios: ['health'], tool: 'autocannon' })
      results.forEach(expectClean)
    },
    TIMEOUT,
  )
})

describeWith('bench data scenario [postgres]', postgresReason, () => {
  test(
    'data produces rows with traffic and no errors, and drops its database',
    async () => {
      const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
      const benchDatabases = async () =>
        (await admin<{ datname: string }[]>`select datname from pg_database where datname like 'scale_bench_%'`).map((r) => r.datname)
      try {
        const before = await benchDatabases()
        const { results } = await runBench({ ...QUICK, scenarios: ['data'] })
        results.forEach(expectClean)
        expect((await benchDatabases()).filter((name) => !before.includes(name))).toEqual([])
      } finally {
        await admin.end()
      }
    },
    TIMEOUT,
  )
})

describeWith('bench pipeline-deno scenario [deno]', await denoMissing(), () => {
  test(
    'pipeline-deno produces rows with traffic and no errors (runtime and bare Elysia on Deno)',
    async () => {
      const { results } = await runBench({ ...QUICK, scenarios: ['pipeline-deno'] })
      results.forEach(expectClean)
      expect(results[0]!.rows.map((r) => r.spec.label)).toEqual(['runtime on Deno (default config)', 'bare Elysia (Deno)'])
    },
    TIMEOUT,
  )
})
