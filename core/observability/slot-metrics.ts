/** Gauges read from the slots at scrape time: reply jobs queued and running, cache and pool figures. */
import { Gauge, type Registry } from 'prom-client'
import type { Slots } from '../ports/index.ts'

export function registerSlotMetrics(registry: Registry, slots: Slots): void {
  const gauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read()
        if (v !== undefined) this.set(v)
      },
    })
  gauge('llm_jobs_queued', 'Reply jobs waiting for a runner in this process', () => slots.llmDispatch.stats().queued)
  gauge('llm_jobs_running', 'Reply jobs running in this process', () => slots.llmDispatch.stats().running)
  gauge('cache_hits', 'Cache hits since start', () => slots.cache.stats?.().hits)
  gauge('cache_misses', 'Cache misses since start', () => slots.cache.stats?.().misses)
  gauge('cache_entries', 'Entries in the cache', () => slots.cache.stats?.().size)
  gauge('db_pool_max_connections', 'Configured maximum connections of the db pool', () => slots.dbPool.stats().max)
}
