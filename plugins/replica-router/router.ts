/**
 * The replica router: writes on the primary, reads on a replica in rotation that has replayed
 * the reader's last write (round robin among those), else on the primary. Replica positions
 * come from one poll per `lagPoll`; a read only compares numbers.
 */
import type { Sql } from 'postgres'
import type { Db, DbRouter, ReadTargetStats, SessionStore, SizedPool } from 'scale-runtime/plugin'
import { LagClock, parseLsn } from './lsn.ts'
import { createWriteMarks } from './marks.ts'
import { Replica, type Trouble } from './replica.ts'

/** Why a read went to the primary (the label of `replica_router_primary_reads_total`). */
export type PrimaryReason = 'not_caught_up' | 'replica_down' | 'no_replicas' | 'session_unavailable'

export interface ReplicaRouterConfig {
  primaryDb: Db
  primarySql: Sql
  replicas: { url: string; name: string }[]
  /** Connections per replica pool, at most (pool-tuner sizes them below it). */
  poolMax: number
  /** As the core's `database.pool.pipeline`. @default 1 */
  pipeline?: number
  /** How long a read waits for a place in a replica's pool before it goes to the primary. @default 5000 */
  acquireTimeoutMs?: number
  lagPollMs: number
  maxLagMs: number
  maxLagBytes: number
  maxWaitMs: number
  ttlMs: number
  pollTimeoutMs: number
  connectTimeoutMs: number
  /** A shared session store (session-redis): write marks then hold across instances. */
  session?: SessionStore
  onEvent?(event: { replica: string; from: string; to: string; detail: string }): void
  onError?(err: unknown, what: string): void
}

export interface ReplicaRouter extends DbRouter {
  readTargets(): ReadTargetStats[]
  /** Each replica's pool, for pool-tuner to size against that replica's own `max_connections`. */
  replicaPools(): SizedPool[]
  /** Reads served by the primary, by reason, since start. */
  primaryReads(): Record<PrimaryReason, number>
  replicas: readonly Replica[]
  /** Run one poll round now (tests, start-up). */
  pollNow(): Promise<void>
  stop(): Promise<void>
}

// The highest position: "only the primary has it" (the position could not be read after a write).
const PRIMARY_ONLY = Number.MAX_SAFE_INTEGER

export async function createReplicaRouter(cfg: ReplicaRouterConfig): Promise<ReplicaRouter> {
  const { primaryDb, primarySql } = cfg
  const counts: Record<PrimaryReason, number> = { not_caught_up: 0, replica_down: 0, no_replicas: 0, session_unavailable: 0 }
  const limits = { maxLagMs: cfg.maxLagMs, maxLagBytes: cfg.maxLagBytes, pollTimeoutMs: cfg.pollTimeoutMs }
  const clock = new LagClock(Math.max(10_000, 4 * cfg.maxLagMs))
  const marks = createWriteMarks({ ttlMs: cfg.ttlMs, session: cfg.session })

  const onFailover = (r: Replica, trouble: Trouble, err: unknown) => {
    counts.replica_down++
    if (trouble === 'down' && r.state !== 'down') {
      const from = r.state
      r.markDown(err)
      cfg.onEvent?.({ replica: r.name, from, to: 'down', detail: r.detail })
    }
  }
  const replicas = cfg.replicas.map(
    (r) =>
      new Replica({
        ...r,
        max: cfg.poolMax,
        pipeline: cfg.pipeline ?? 1,
        acquireTimeoutMs: cfg.acquireTimeoutMs ?? 5000,
        connectTimeoutMs: cfg.connectTimeoutMs,
        primary: primarySql,
        onFailover,
      }),
  )

  let next = 0
  /** A replica in rotation that has replayed `need`, round robin; no allocation on this path. */
  const choose = (need: number): Replica | undefined => {
    const n = replicas.length
    for (let i = 0; i < n; i++) {
      const r = replicas[(next + i) % n]!
      if (r.state === 'up' && r.replay >= need) {
        next = (next + i + 1) % n
        return r
      }
    }
    return undefined
  }
  const onPrimary = (reason: PrimaryReason): Db => {
    counts[reason]++
    return primaryDb
  }
  const anyUp = () => replicas.some((r) => r.state === 'up')

  // Readers waiting (up to maxWait) for the next poll round.
  let waiters: (() => void)[] = []
  const nextRound = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms)
      waiters.push(() => {
        clearTimeout(t)
        resolve()
      })
    })
  async function waitFor(need: number): Promise<Db> {
    const deadline = Date.now() + cfg.maxWaitMs
    for (let left = cfg.maxWaitMs; left > 0; left = deadline - Date.now()) {
      await nextRound(left)
      const r = choose(need)
      if (r) return served(r)
      if (!anyUp()) return onPrimary('no_replicas')
    }
    return onPrimary('not_caught_up')
  }
  const served = (r: Replica): Db => {
    r.reads++
    return r.db
  }
  const route = (need: number): Db | Promise<Db> => {
    const r = choose(need)
    if (r) return served(r)
    if (!anyUp()) return onPrimary('no_replicas')
    return cfg.maxWaitMs > 0 ? waitFor(need) : onPrimary('not_caught_up')
  }

  // One query on the primary per write, shared by every write that committed before it started.
  let inflight: Promise<number> | undefined
  let queued: Promise<number> | undefined
  const queryLsn = async () => {
    const [row] = await primarySql.unsafe<{ lsn: string }[]>('select pg_current_wal_insert_lsn()::text as lsn')
    return parseLsn(row?.lsn) ?? PRIMARY_ONLY
  }
  const positionAfterCommit = (): Promise<number> => {
    if (!inflight) return (inflight = queryLsn().finally(() => (inflight = undefined)))
    // The query in flight may have started before this commit: wait for the next one.
    return (queued ??= inflight
      .catch(() => 0)
      .then(() => {
        queued = undefined
        return positionAfterCommit()
      }))
  }

  let polling: Promise<void> | undefined
  const pollRound = () =>
    (polling ??= (async () => {
      try {
        const [row] = await primarySql.unsafe<{ lsn: string }[]>('select pg_current_wal_insert_lsn()::text as lsn')
        const lsn = parseLsn(row?.lsn)
        if (lsn !== undefined) clock.record(lsn)
      } catch (e) {
        cfg.onError?.(e, 'reading the primary WAL position')
      }
      await Promise.all(
        replicas.map(async (r) => {
          const from = r.state
          await r.poll(clock, limits)
          if (r.state !== from) cfg.onEvent?.({ replica: r.name, from, to: r.state, detail: r.detail })
        }),
      )
      marks.prune()
    })().finally(() => {
      polling = undefined
      const w = waiters
      waiters = []
      for (const wake of w) wake()
    }))

  await pollRound()
  const timer = setInterval(pollRound, cfg.lagPollMs)
  timer.unref?.()
  let stopped: Promise<void> | undefined

  return {
    replicas,
    write: () => primaryDb,
    read(userId?: string) {
      if (!anyUp()) return onPrimary('no_replicas')
      if (!userId) return route(0)
      const need = marks.need(userId)
      if (typeof need === 'number') return route(need)
      return need.then(route, (e) => {
        cfg.onError?.(e, 'reading the write mark from the session')
        return onPrimary('session_unavailable')
      })
    },
    async wrote(userId: string) {
      let lsn: number
      try {
        lsn = await positionAfterCommit()
      } catch (e) {
        cfg.onError?.(e, 'reading the primary WAL position after a write')
        lsn = PRIMARY_ONLY
      }
      try {
        await marks.record(userId, lsn)
      } catch (e) {
        // The write is committed; failing the request now would invite a duplicate retry.
        cfg.onError?.(e, 'storing the write mark in the session')
      }
    },
    readTargets: () => replicas.map((r) => r.stats()),
    replicaPools: () => replicas.map((r) => r.sized),
    primaryReads: () => ({ ...counts }),
    pollNow: pollRound,
    stop() {
      stopped ??= (async () => {
        clearInterval(timer)
        await polling?.catch(() => {})
        await Promise.all(replicas.map((r) => r.close()))
      })()
      return stopped
    },
  }
}
