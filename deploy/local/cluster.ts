/**
 * A whole deployment on this machine, without containers: a private PostgreSQL primary (and a
 * streaming replica), a private Redis, N api instances and M workers on
 * config/examples/cluster.ts, and nginx in front, all on loopback, state in one temp folder.
 * `npm run cluster` runs it from the command line; the cluster tests start it with
 * `startCluster()` and break parts of it.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { member, type Member } from './member.ts'
import { freePort } from './net.ts'
import { startNginx, type LocalNginx } from './nginx.ts'
import { startPrivatePostgres, startReplica, type PrivatePostgres } from './postgres.ts'
import { startLocalRedis, type LocalRedis } from './redis.ts'

const ROOT = resolve(import.meta.dirname, '../..')
export const CLUSTER_CONFIG = resolve(ROOT, 'config/examples/cluster.ts')

export interface ClusterOptions {
  /** nginx's port; 0 picks a free one. @default 0 */
  port?: number
  /** Api instances. @default 3 */
  api?: number
  /** Worker processes. @default 2 */
  workers?: number
  /** A streaming replica for replica-router. @default true */
  replica?: boolean
  /** Keep the data folder after stop. @default false */
  keep?: boolean
  /** The config every process loads. @default config/examples/cluster.ts */
  config?: string
  /** Extra environment for every process. */
  env?: Record<string, string>
  /** Told about every process's state change. */
  onState?: (m: Member, detail?: string) => void
}

export interface Cluster {
  /** nginx: where clients go. */
  url: string
  dir: string
  apis: Member[]
  workers: Member[]
  redis: LocalRedis
  primary: PrivatePostgres
  replica?: PrivatePostgres
  nginx: LocalNginx
  /** The environment every process runs with. */
  env: Record<string, string>
  /** Stop everything (api and workers drain first), nothing left behind. Safe to call twice. */
  stop(): Promise<void>
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'scale-cluster-'))
  const undo: (() => Promise<void>)[] = []
  const cleanup = async () => {
    for (const u of undo.reverse()) await u().catch(() => {})
    if (!opts.keep) rmSync(dir, { recursive: true, force: true })
  }
  try {
    const primary = await startPrivatePostgres({ settings: { max_connections: '200' } })
    undo.push(() => (opts.keep ? primary.stop() : primary.remove()))
    const replica = opts.replica === false ? undefined : await startReplica(primary)
    if (replica) undo.push(() => (opts.keep ? replica.stop() : replica.remove()))
    const redis = await startLocalRedis()
    undo.push(() => redis.stop())

    const apiCount = opts.api ?? 3
    const env: Record<string, string> = {
      SCALE_CONFIG: opts.config ?? CLUSTER_CONFIG,
      SCALE_INSTANCES: String(apiCount),
      DATABASE_URL: primary.url,
      REDIS_URL: redis.url,
      JWT_SECRET: randomBytes(32).toString('hex'),
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'info',
      ...(replica && { DATABASE_REPLICA_URLS: replica.url }),
      ...opts.env,
    }
    // Migrate once, before any instance starts, so instances never race to migrate.
    const migrate = spawnSync(process.execPath, ['core/cli.ts', 'migrate'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    })
    if (migrate.status !== 0) throw new Error(`migrate failed: ${migrate.stderr || migrate.stdout}`)

    const make = async (role: 'api' | 'worker', i: number) =>
      member({ name: `${role}-${i + 1}`, role, port: await freePort(), env, logDir: dir, onState: opts.onState })
    const apis = await Promise.all(Array.from({ length: apiCount }, (_, i) => make('api', i)))
    const workers = await Promise.all(Array.from({ length: opts.workers ?? 2 }, (_, i) => make('worker', i)))
    const all = [...apis, ...workers]
    undo.push(async () => {
      await Promise.all(all.map((m) => m.term()))
    })
    // One at a time: each start pays for the JIT and the plugin wiring, and two cores are
    // better spent on one process at once than on all of them thrashing.
    for (const m of all) await m.start()

    const nginx = await startNginx(
      join(dir, 'nginx'),
      opts.port || (await freePort()),
      apis.map((a) => `127.0.0.1:${a.port}`),
    )
    undo.push(() => nginx.stop())
    let stopped: Promise<void> | undefined
    return { url: nginx.url, dir, apis, workers, redis, primary, replica, nginx, env, stop: () => (stopped ??= cleanup()) }
  } catch (e) {
    await cleanup()
    throw e
  }
}
