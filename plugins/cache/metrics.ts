/** The cache plugin's Prometheus metrics: hits and misses by level and kind, loads, invalidations, L1 size, outages. */
import { Counter, Gauge, Registry } from 'prom-client'
import type { L1 } from './l1.ts'

export interface CacheMetrics {
  hit(level: 'l1' | 'l2', kind: string): void
  miss(level: 'l1' | 'l2', kind: string): void
  load(kind: string, how: 'owner' | 'after_wait' | 'pass_through' | 'refresh'): void
  waited(kind: string): void
  invalidations: Counter
  redisFailures: Counter
  unacknowledged: Counter
  outages: Counter<'part'>
}

export function createCacheMetrics(registry: Registry = new Registry(), l1: L1): CacheMetrics {
  const registers = [registry]
  const hits = new Counter({
    name: 'cache_hits_total',
    help: 'Cache hits by level (l1 in process, l2 redis) and kind',
    labelNames: ['level', 'kind'],
    registers,
  })
  const misses = new Counter({
    name: 'cache_misses_total',
    help: 'Cache misses by level and kind',
    labelNames: ['level', 'kind'],
    registers,
  })
  const loads = new Counter({
    name: 'cache_loads_total',
    help: 'Loads from the database by kind and why: owner (held the cluster-wide lock), after_wait (the holder did not answer in time), pass_through (redis unreachable), refresh (stale-while-revalidate)',
    labelNames: ['kind', 'how'],
    registers,
  })
  const waits = new Counter({
    name: 'cache_shared_loads_total',
    help: "Misses answered by another caller's load (single flight across instances)",
    labelNames: ['kind'],
    registers,
  })
  new Gauge({
    name: 'cache_l1_entries',
    help: 'Entries in the in-process level',
    registers,
    collect() {
      this.set(l1.size)
    },
  })
  new Gauge({
    name: 'cache_l1_bytes',
    help: 'Bytes of serialised values in the in-process level',
    registers,
    collect() {
      this.set(l1.bytes)
    },
  })
  new Gauge({
    name: 'cache_l1_enabled',
    help: '1 while the in-process level is in use (redis and pub/sub up), else 0',
    registers,
    collect() {
      this.set(l1.enabled ? 1 : 0)
    },
  })
  return {
    hit: (level, kind) => hits.inc({ level, kind }),
    miss: (level, kind) => misses.inc({ level, kind }),
    load: (kind, how) => loads.inc({ kind, how }),
    waited: (kind) => waits.inc({ kind }),
    invalidations: new Counter({ name: 'cache_invalidations_total', help: 'Tags invalidated by this instance', registers }),
    redisFailures: new Counter({
      name: 'cache_redis_failures_total',
      help: 'Cache commands that failed or timed out (each then served from the database)',
      registers,
    }),
    unacknowledged: new Counter({
      name: 'cache_invalidations_unacknowledged_total',
      help: 'Invalidations some instance did not acknowledge within the command timeout',
      registers,
    }),
    outages: new Counter({
      name: 'cache_outages_total',
      help: 'Outages seen: redis (commands) or pubsub (invalidation messages)',
      labelNames: ['part'],
      registers,
    }),
  }
}
