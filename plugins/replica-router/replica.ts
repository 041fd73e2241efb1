/**
 * One replica: its read pool (the core's resizable pool, so pool-tuner can size it against
 * this server's own `max_connections`), a Drizzle database over it whose failed reads are
 * retried on the primary, and its state from the last poll (one query on its own connection
 * per `lagPoll`).
 */
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres, { type Sql } from 'postgres'
import {
  createPostgresPool,
  dbSchema as schema,
  isScaleError,
  type Db,
  type PostgresPool,
  type ReadTargetStats,
  type SizedPool,
} from 'scale-runtime/plugin'
import { type LagClock, parseLsn } from './lsn.ts'

export type ReplicaState = ReadTargetStats['state']

/** What a failed replica query means: the replica is gone, or only this query lost (a recovery conflict, a timeout). */
export type Trouble = 'down' | 'query'

/**
 * Errors a read on the primary would not have raised. A client's mistake (bad input, 22xxx)
 * or a schema error (42xxx) would fail on the primary too, so those pass through as they are.
 */
export function replicaTrouble(e: unknown): Trouble | undefined {
  // No place in this replica's pool within the acquire timeout (or the pool closing): the primary takes this read.
  if (isScaleError(e)) return 'query'
  const err = e as { name?: string; code?: unknown; message?: string }
  if (err?.name !== 'PostgresError') return 'down' // network: refused, reset, closed, timed out
  const code = String(err.code)
  // 40001 on a hot standby is "canceling statement due to conflict with recovery"; 57014 a cancel/timeout.
  if (code === '40001' || code === '57014') return 'query'
  if (/^(08|53|57|58|XX)/.test(code)) return 'down'
  return undefined
}

export interface ReplicaLimits {
  maxLagMs: number
  maxLagBytes: number
  pollTimeoutMs: number
}

export interface ReplicaOptions {
  url: string
  name: string
  /** Connections the pool opens at most (pool-tuner sets it lower). */
  max: number
  /** Queries sent on one connection at once, as the core's `database.pool.pipeline`. */
  pipeline: number
  /** How long a read waits for a place in the pool before it goes to the primary. */
  acquireTimeoutMs: number
  connectTimeoutMs: number
  primary: Sql
  /** A read failed here and goes to the primary instead. */
  onFailover(replica: Replica, trouble: Trouble, err: unknown): void
}

const POLL_SQL = `select pg_is_in_recovery() as recovery, pg_last_wal_replay_lsn()::text as replay,
  (extract(epoch from pg_last_xact_replay_timestamp()) * 1000)::float8 as replayed_at`

export class Replica {
  readonly name: string
  readonly max: number
  readonly pool: PostgresPool
  readonly db: Db
  /** For pool-tuner: this replica's pool, with a database that reads this server only (no failover). */
  readonly sized: SizedPool
  state: ReplicaState = 'starting'
  /** Replayed position from the last good poll; -1 until one answered. */
  replay = -1
  lagSeconds = 0
  lagBytes = 0
  reads = 0
  detail = 'not polled yet'
  private poller: Sql
  private downAt = 0
  private closed = false

  constructor(private readonly opts: ReplicaOptions) {
    this.name = opts.name
    this.max = opts.max
    const connect = (max: number) =>
      postgres(opts.url, {
        max,
        connect_timeout: Math.max(1, Math.ceil(opts.connectTimeoutMs / 1000)),
        idle_timeout: 60,
        onnotice: () => {},
      })
    this.pool = createPostgresPool(connect, { size: opts.max, pipeline: opts.pipeline, acquireTimeoutMs: opts.acquireTimeoutMs })
    this.db = drizzle(this.failover() as unknown as Sql, { schema }) as unknown as Db
    const pool = this.pool
    this.sized = {
      name: this.name,
      db: drizzle(pool.gated, { schema }) as unknown as Db,
      stats: () => ({ driver: 'postgres', max: this.max, ...pool.stats() }),
      resize: (n) => pool.resize(Math.min(this.max, n)),
    }
    this.poller = this.newPoller()
  }

  get inRotation(): boolean {
    return this.state === 'up'
  }

  /** Out of rotation at once; only a poll started after this can bring it back. */
  markDown(err: unknown): void {
    this.downAt = Date.now()
    this.state = 'down'
    this.detail = (err as Error)?.message ?? String(err)
  }

  /** Ask the replica where it is; never throws. */
  async poll(clock: LagClock, limits: ReplicaLimits): Promise<void> {
    if (this.closed) return
    const started = Date.now()
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to the lag poll in ${limits.pollTimeoutMs} ms`)), limits.pollTimeoutMs)
      })
      const [row] = (await Promise.race([this.poller.unsafe(POLL_SQL), timeout])) as unknown as {
        recovery: boolean
        replay: string | null
        replayed_at: number | null
      }[]
      if (started < this.downAt || this.closed) return // a read failed meanwhile: that is newer news
      const replay = parseLsn(row?.replay)
      if (!row?.recovery || replay === undefined) {
        this.state = 'down'
        this.detail = 'not a replica (pg_is_in_recovery() is false): was it promoted?'
        return
      }
      const now = Date.now()
      this.replay = replay
      this.lagBytes = Math.max(0, (clock.primary ?? replay) - replay)
      this.lagSeconds = clock.lagSeconds(replay, now, row.replayed_at ?? undefined)
      const late = this.lagSeconds * 1000 > limits.maxLagMs || this.lagBytes > limits.maxLagBytes
      this.state = late ? 'lagging' : 'up'
      this.detail = late ? `lag ${this.lagSeconds.toFixed(2)} s, ${this.lagBytes} bytes` : 'ok'
    } catch (e) {
      if (this.closed) return
      this.markDown(e)
      // A poll that timed out may still hold the one connection: start over with a fresh one.
      const old = this.poller
      this.poller = this.newPoller()
      void old.end({ timeout: 0 }).catch(() => {})
    } finally {
      clearTimeout(timer)
    }
  }

  stats(): ReadTargetStats {
    return { name: this.name, state: this.state, max: this.max, lagSeconds: this.lagSeconds, lagBytes: this.lagBytes, reads: this.reads }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([this.pool.close(), this.poller.end({ timeout: 1 })])
  }

  private newPoller(): Sql {
    return postgres(this.opts.url, {
      max: 1,
      connect_timeout: Math.max(1, Math.ceil(this.opts.connectTimeoutMs / 1000)),
      idle_timeout: 0,
      onnotice: () => {},
    })
  }

  /**
   * The client Drizzle sees: the replica pool's gated `unsafe()` (all Drizzle's postgres-js
   * session calls outside transactions), retried once on the primary when the replica is the
   * trouble (or its pool had no place within the acquire timeout).
   * Reads only: nothing writes through `read()`, and transactions are not offered here.
   */
  private failover() {
    const { primary, onFailover } = this.opts
    const run = (query: string, params: unknown[] | undefined, options: unknown, values: boolean): Promise<unknown> => {
      const onReplica = this.pool.gated.unsafe(query, params as never[], options as never)
      return (values ? onReplica.values() : onReplica).then(undefined, (err: unknown) => {
        const trouble = replicaTrouble(err)
        if (!trouble) throw err
        onFailover(this, trouble, err)
        const onPrimary = primary.unsafe(query, params as never[], options as never)
        return values ? onPrimary.values() : onPrimary
      })
    }
    const pool = this.pool
    return {
      get options() {
        return pool.gated.options
      },
      unsafe: (query: string, params?: unknown[], options?: unknown) => ({
        then: (ok?: (v: unknown) => unknown, ko?: (e: unknown) => unknown) => run(query, params, options, false).then(ok, ko),
        values: () => run(query, params, options, true),
      }),
    }
  }
}
