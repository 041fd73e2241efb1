/**
 * One replica: its read pool, a Drizzle database over it whose failed reads are retried on the
 * primary, and its state from the last poll (one query on its own connection per `lagPoll`).
 */
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres, { type Sql } from 'postgres'
import { dbSchema as schema, type Db, type ReadTargetStats } from 'scale-runtime/plugin'
import { type LagClock, parseLsn } from './lsn.ts'

export type ReplicaState = ReadTargetStats['state']

/** What a failed replica query means: the replica is gone, or only this query lost (a recovery conflict, a timeout). */
export type Trouble = 'down' | 'query'

/**
 * Errors a read on the primary would not have raised. A client's mistake (bad input, 22xxx)
 * or a schema error (42xxx) would fail on the primary too, so those pass through as they are.
 */
export function replicaTrouble(e: unknown): Trouble | undefined {
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
  max: number
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
  readonly sql: Sql
  readonly db: Db
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
    this.sql = postgres(opts.url, {
      max: opts.max,
      connect_timeout: Math.max(1, Math.ceil(opts.connectTimeoutMs / 1000)),
      idle_timeout: 60,
      onnotice: () => {},
    })
    this.db = drizzle(this.failover() as unknown as Sql, { schema }) as unknown as Db
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
    await Promise.all([this.sql.end({ timeout: 5 }), this.poller.end({ timeout: 1 })])
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
   * The client Drizzle sees: the replica pool's `unsafe()` (all Drizzle's postgres-js session
   * calls outside transactions), retried once on the primary when the replica is the trouble.
   * Reads only: nothing writes through `read()`, and transactions are not offered here.
   */
  private failover() {
    const { primary, onFailover } = this.opts
    const run = (query: string, params: unknown[] | undefined, options: unknown, values: boolean): Promise<unknown> => {
      const onReplica = this.sql.unsafe(query, params as never[], options as never)
      return (values ? onReplica.values() : onReplica).then(undefined, (err: unknown) => {
        const trouble = replicaTrouble(err)
        if (!trouble) throw err
        onFailover(this, trouble, err)
        const onPrimary = primary.unsafe(query, params as never[], options as never)
        return values ? onPrimary.values() : onPrimary
      })
    }
    return {
      options: this.sql.options,
      unsafe: (query: string, params?: unknown[], options?: unknown) => ({
        then: (ok?: (v: unknown) => unknown, ko?: (e: unknown) => unknown) => run(query, params, options, false).then(ok, ko),
        values: () => run(query, params, options, true),
      }),
    }
  }
}
