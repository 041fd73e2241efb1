/**
 * Reads a Redis URL into what ioredis needs: one server (`redis://`, `rediss://`), a
 * Sentinel group (`redis-sentinel://`) or a Cluster (`redis-cluster://`).
 *
 * - `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS: as ioredis reads them.
 * - `redis-sentinel://[user:password@]host:26379,host:26379/<master name>[/db][?sentinelPassword=..&tls=true]`:
 *   the credentials are the master's; the sentinels' go in the query.
 * - `redis-cluster://[user:password@]host:6379,host:6379[?tls=true]`: any reachable nodes; the
 *   client discovers the rest.
 */
import { ScaleError, quote } from '../errors.ts'

export interface HostPort {
  host: string
  port: number
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | {
      kind: 'sentinel'
      sentinels: HostPort[]
      name: string
      db: number
      username?: string
      password?: string
      sentinelUsername?: string
      sentinelPassword?: string
      tls: boolean
    }
  | { kind: 'cluster'; nodes: HostPort[]; username?: string; password?: string; tls: boolean }

const MULTI_HOST = /^(redis-sentinel|redis-cluster):\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/

export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) return { kind: 'single', url }
  const m = MULTI_HOST.exec(url)
  if (!m) throw invalid(url, 'expected redis://, rediss://, redis-sentinel:// or redis-cluster:// followed by host:port')
  const [, scheme, auth, hostList, path = '', query = ''] = m
  const nodes = hostList!.split(',').map((h) => hostPort(h, scheme === 'redis-sentinel' ? 26379 : 6379, url))
  const params = new URLSearchParams(query)
  const tls = params.get('tls') === 'true'
  const { username, password } = credentials(auth)
  if (scheme === 'redis-cluster') {
    if (path && path !== '/') throw invalid(url, 'a cluster URL has no path (Redis Cluster has only database 0)')
    return { kind: 'cluster', nodes, username, password, tls }
  }
  const [name, db = '0'] = path.split('/').filter(Boolean)
  if (!name) throw invalid(url, 'a sentinel URL names the master group in its path: redis-sentinel://host:26379/mymaster')
  if (!/^\d+$/.test(db)) throw invalid(url, `the database after the master name must be a number, got ${quote(db)}`)
  return {
    kind: 'sentinel',
    sentinels: nodes,
    name: decodeURIComponent(name),
    db: Number(db),
    username,
    password,
    sentinelUsername: params.get('sentinelUsername') ?? undefined,
    sentinelPassword: params.get('sentinelPassword') ?? undefined,
    tls,
  }
}

/** The URL without its password, for logs and error messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):([^@/]*)@/, '//$1:***@')
}

function hostPort(s: string, defaultPort: number, url: string): HostPort {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(s.trim())
  if (!m) throw invalid(url, `${quote(s)} is not host or host:port`)
  const port = m[2] === undefined ? defaultPort : Number(m[2])
  if (port < 1 || port > 65535) throw invalid(url, `port ${port} is out of range`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port }
}

function credentials(auth: string | undefined): { username?: string; password?: string } {
  if (!auth) return {}
  const i = auth.indexOf(':')
  const user = i < 0 ? auth : auth.slice(0, i)
  const pass = i < 0 ? undefined : auth.slice(i + 1)
  return {
    username: user ? decodeURIComponent(user) : undefined,
    password: pass ? decodeURIComponent(pass) : undefined,
  }
}

function invalid(url: string, why: string): ScaleError {
  return new ScaleError('CONFIG_INVALID', `config redis.url is ${quote(redactRedisUrl(url))}; ${why}`)
}
