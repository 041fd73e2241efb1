/**
 * replica-router metrics on the core's registry, read from the router at scrape time (the read
 * path only bumps plain counters): per replica its state, lag and reads served, and the reads
 * the primary served by reason.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { ReplicaRouter } from './router.ts'

const STATES = ['starting', 'up', 'lagging', 'down'] as const

export function registerReplicaMetrics(registry: Registry, router: ReplicaRouter): void {
  new Gauge({
    name: 'replica_router_replica_state',
    help: 'Replica state: 1 for the current one (up = in rotation; lagging and down are out)',
    labelNames: ['replica', 'state'],
    registers: [registry],
    collect() {
      for (const t of router.readTargets()) for (const s of STATES) this.set({ replica: t.name, state: s }, t.state === s ? 1 : 0)
    },
  })
  new Gauge({
    name: 'replica_router_replica_lag_seconds',
    help: 'Replica replay lag from the last poll: time since the primary passed its replayed WAL position',
    labelNames: ['replica'],
    registers: [registry],
    collect() {
      for (const t of router.readTargets()) this.set({ replica: t.name }, t.lagSeconds)
    },
  })
  new Gauge({
    name: 'replica_router_replica_lag_bytes',
    help: "Replica replay lag from the last poll: bytes of WAL between the primary's position and its replayed one",
    labelNames: ['replica'],
    registers: [registry],
    collect() {
      for (const t of router.readTargets()) this.set({ replica: t.name }, t.lagBytes)
    },
  })
  new Counter({
    name: 'replica_router_replica_reads_total',
    help: 'Reads routed to each replica',
    labelNames: ['replica'],
    registers: [registry],
    collect() {
      this.reset()
      for (const t of router.readTargets()) this.inc({ replica: t.name }, t.reads)
    },
  })
  new Counter({
    name: 'replica_router_primary_reads_total',
    help: 'Reads served by the primary, by reason: not_caught_up, replica_down (retried after a replica failed), no_replicas (none in rotation), session_unavailable',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [reason, n] of Object.entries(router.primaryReads())) this.inc({ reason }, n)
    },
  })
}
