/**
 * `GET /v1/admin/status`: what the console's status view shows, for admins only. Each slot's
 * figures come from the backend itself (`stats()` and `health()` when it has them), so a
 * plugin's numbers appear here without this file knowing its internals.
 */
import { Elysia, t } from 'elysia'
import { ScaleError } from '../errors.ts'
import type { AppDeps } from '../http/deps.ts'
import type { Traffic } from '../observability/traffic.ts'
import type { ScalePlugin } from '../plugins/contract.ts'
import { SLOT_NAMES, type SlotName } from '../ports/index.ts'
import { CORE_VERSION } from '../version.ts'

export interface AdminOptions {
  /** Plugins set up, in order: which slot each fills, and their health. */
  plugins: readonly ScalePlugin[]
  traffic: Traffic
  /** Whether the core opened Redis (instances then share state there). */
  redis: boolean
}

/** A figure from a backend: numbers, strings, or nested groups of them (kept as the backend gave them). */
const Figures = t.Record(t.String(), t.Unknown(), { description: "the backend's own figures, as its stats() returns them" })

const SlotStatus = t.Object({
  slot: t.String(),
  backend: t.String({ description: "'default' or the plugin's name" }),
  kind: t.Union([t.Literal('default'), t.Literal('plugin')]),
  version: t.Union([t.String(), t.Null()], { description: "the plugin's manifest version, or the core's for a default" }),
  stats: t.Union([Figures, t.Null()]),
  health: t.Union([t.String(), t.Null()]),
})

const Point = t.Object({
  at: t.Integer(),
  rps: t.Number(),
  p50: t.Union([t.Number(), t.Null()]),
  p99: t.Union([t.Number(), t.Null()]),
})

export const AdminStatus = t.Object({
  version: t.String(),
  uptimeSeconds: t.Integer(),
  status: t.String({ description: 'ready, not_ready or draining, as /health/ready says' }),
  checks: t.Record(t.String(), t.String()),
  instances: t.Object({
    live: t.Union([t.Integer(), t.Null()], { description: 'from a backend that counts live instances, when one does' }),
    configured: t.Integer(),
    embedded: t.Boolean({ description: 'true when nothing is shared between processes (no Redis)' }),
  }),
  slots: t.Array(SlotStatus),
  plugins: t.Array(t.Object({ name: t.String(), version: t.Union([t.String(), t.Null()]), provides: t.Array(t.String()) })),
  requests: t.Object({ total: t.Number(), series: t.Array(Point) }),
  rateLimited: t.Record(t.String(), t.Number()),
})

type Described = { stats?: () => unknown; health?: () => unknown }

export function adminRoutes({ guard, users, slots, config, health }: AppDeps, { plugins, traffic, redis }: AdminOptions) {
  const started = Date.now()
  const owner = new Map<SlotName, ScalePlugin>()
  for (const p of plugins) for (const s of p.manifest.provides ?? []) owner.set(s, p)

  async function slotStatus(slot: SlotName) {
    const impl = slots[slot] as unknown as Described
    const plugin = owner.get(slot)
    return {
      slot,
      backend: plugin?.manifest.name ?? 'default',
      kind: plugin ? ('plugin' as const) : ('default' as const),
      version: plugin ? (plugin.manifest.version ?? null) : CORE_VERSION,
      stats: await read(impl.stats?.bind(impl)).then((s) => (typeof s === 'string' ? { error: s } : s)),
      health: await read(impl.health?.bind(impl)).then(healthText),
    }
  }

  return new Elysia({ name: 'routes-admin', prefix: '/v1/admin', tags: ['admin'] }).use(guard).get(
    '/status',
    async ({ user }) => {
      if ((await users.role(user.userId)) !== 'admin') {
        throw new ScaleError(
          'FORBIDDEN',
          'the runtime status is for admins; an operator grants it with npm run cli -- set-role <email> admin',
        )
      }
      const [report, slotList, totals] = await Promise.all([health(), Promise.all(SLOT_NAMES.map(slotStatus)), traffic.totals()])
      const live = slotList.map((s) => (s.stats as { instances?: unknown } | null)?.instances).find((n) => typeof n === 'number')
      return {
        version: CORE_VERSION,
        uptimeSeconds: Math.floor((Date.now() - started) / 1000),
        status: report.status,
        checks: report.checks,
        instances: { live: (live as number | undefined) ?? (redis ? null : 1), configured: config.instances, embedded: !redis },
        slots: slotList,
        plugins: plugins.map((p) => ({ name: p.manifest.name, version: p.manifest.version ?? null, provides: p.manifest.provides ?? [] })),
        requests: { total: totals.requests, series: traffic.series() },
        rateLimited: totals.rateLimited,
      }
    },
    {
      auth: 'api',
      response: { 200: AdminStatus },
      detail: { summary: "The runtime's status: slots, backends, traffic (admins only)" },
    },
  )
}

/** Call a backend's optional reporter; a failure or a slow answer shows as text, never fails the page. */
async function read(fn: (() => unknown) | undefined): Promise<Record<string, unknown> | string | null> {
  if (!fn) return null
  try {
    const v = await Promise.race([Promise.resolve(fn()), new Promise((r) => setTimeout(r, 2000, 'no answer in 2000 ms').unref?.())])
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : v === undefined ? null : String(v)
  } catch (e) {
    return `error: ${(e as Error).message}`
  }
}

function healthText(h: Record<string, unknown> | string | null): string | null {
  if (h === null || typeof h === 'string') return h
  return h.detail ? `${h.status}: ${h.detail}` : String(h.status ?? JSON.stringify(h))
}
