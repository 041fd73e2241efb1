/** replica-router options, their defaults, and their checks (once, at set-up). */
import { parseDuration, quote, ScaleError, type Duration, type ResolvedConfig } from 'scale-runtime/plugin'

export interface ReplicaRouterOptions {
  /** Replica connection URLs. @default DATABASE_REPLICA_URLS, comma-separated */
  urls?: string[]
  /** How often each replica is asked how far it has replayed (one query per replica). @default '100 ms' */
  lagPoll?: Duration
  /** A replica further behind than this (time since the primary passed its position) leaves the rotation. @default '1 s' */
  maxLag?: Duration
  /** A replica further behind than this many bytes of WAL leaves the rotation. @default 16 MiB */
  maxLagBytes?: number
  /** When no replica has replayed a user's last write, wait this long for one before reading on the primary. @default 0 */
  maxWait?: Duration
  /** How long a user's write position is kept (their reads are checked against it meanwhile). @default max('5 s', 2 × maxLag + 2 × lagPoll) */
  ttl?: Duration
  /** Connections per replica pool. @default config database.pool.max */
  poolMax?: number
  /** A poll without an answer in this time takes the replica out. @default '1 s' */
  pollTimeout?: Duration
  /** Connection timeout of the replica pools. @default '2 s' */
  connectTimeout?: Duration
  /**
   * Where users' write positions are kept. `'session'`: in the session slot filled by a plugin
   * listed before this one (sessionRedis()), read once per routed read, so they hold across
   * instances. `'process'`: in this process only, no round trip; right for one instance, or
   * when the load balancer sends each user to one instance.
   * @default 'session' when a session plugin is listed before this one, else 'process'
   */
  marks?: 'session' | 'process'
}

export interface ResolvedReplicaOptions {
  urls: string[]
  lagPollMs: number
  maxLagMs: number
  maxLagBytes: number
  maxWaitMs: number
  ttlMs: number
  poolMax: number
  pollTimeoutMs: number
  connectTimeoutMs: number
}

const invalid = (what: string, value: unknown, expected: string) =>
  new ScaleError('CONFIG_INVALID', `replicaRouter ${what} is ${quote(value)}; expected ${expected}`)

function duration(name: string, value: Duration | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  const v = parseDuration(value)
  if (v === undefined || v < min) throw invalid(name, value, `a duration of at least ${min} ms such as '250 ms' or '1 s'`)
  return v
}

/** Replica URLs from the option, else from `DATABASE_REPLICA_URLS`. */
export function replicaUrls(urls: string[] | undefined, env: Record<string, string | undefined> = process.env): string[] {
  const list = urls ?? (env.DATABASE_REPLICA_URLS ?? '').split(',')
  return list.map((u) => u.trim()).filter(Boolean)
}

export function resolveOptions(
  given: ReplicaRouterOptions,
  config: ResolvedConfig,
  env?: Record<string, string | undefined>,
): ResolvedReplicaOptions {
  const urls = replicaUrls(given.urls, env)
  if (urls.length === 0) {
    throw new ScaleError(
      'CONFIG_INVALID',
      'replicaRouter has no replica URLs; pass urls: [...] or set DATABASE_REPLICA_URLS (comma-separated postgres:// URLs), or leave the plugin out',
    )
  }
  for (const u of urls) {
    if (!/^postgres(ql)?:\/\//.test(u)) throw invalid('url', redact(u), 'a postgres:// or postgresql:// URL')
  }
  const lagPollMs = duration('lagPoll', given.lagPoll, 100, 10)
  const maxLagMs = duration('maxLag', given.maxLag, 1000, 1)
  const ttlFloor = maxLagMs + 2 * lagPollMs
  const ttlMs = duration('ttl', given.ttl, Math.max(5000, 2 * ttlFloor))
  // After `ttl` a user's reads go to any replica in rotation: one in rotation is at most about
  // maxLag + lagPoll behind, so the write must be that old by then.
  if (ttlMs <= ttlFloor) throw invalid('ttl', given.ttl, `more than maxLag + 2 × lagPoll (${ttlFloor} ms)`)
  const maxLagBytes = given.maxLagBytes ?? 16 * 1024 * 1024
  if (!Number.isInteger(maxLagBytes) || maxLagBytes < 0) throw invalid('maxLagBytes', given.maxLagBytes, 'a whole number of bytes')
  if (given.marks !== undefined && given.marks !== 'session' && given.marks !== 'process')
    throw invalid('marks', given.marks, "'session' or 'process'")
  const poolMax = given.poolMax ?? config.database.pool.max
  if (!Number.isInteger(poolMax) || poolMax < 1) throw invalid('poolMax', given.poolMax, 'a whole number from 1')
  return {
    urls,
    lagPollMs,
    maxLagMs,
    maxLagBytes,
    maxWaitMs: duration('maxWait', given.maxWait, 0),
    ttlMs,
    poolMax,
    pollTimeoutMs: duration('pollTimeout', given.pollTimeout, 1000, 10),
    connectTimeoutMs: duration('connectTimeout', given.connectTimeout, 2000, 100),
  }
}

/** `host:port/db` of a URL: a name for logs and metrics, without credentials. */
export function redact(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || '5432'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`
  } catch {
    return 'an unparseable URL'
  }
}
