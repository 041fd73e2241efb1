/** The doctor's report as text for a person (`--json` prints the Report itself). */
import type { Report } from './plan.ts'

export function renderReport(r: Report): string {
  const out: string[] = []
  if (r.nothingToSize) {
    out.push('Embedded database (PGlite) and in-process slots: one process, nothing to size.')
    out.push('Set DATABASE_URL (and REDIS_URL with the Redis plugins) for a deployment doctor can plan.')
  } else {
    const p = r.processes!
    out.push(
      `Processes: ${p.api} api, ${p.workers} worker${p.workers === 1 ? '' : 's'} (from ${p.source === 'heartbeats' ? 'live heartbeats' : 'the config; no heartbeats found'})`,
    )
    const c = r.connections!
    out.push('', `PostgreSQL connections (sized by ${c.sizedBy}):`)
    out.push(`  ${c.perProcess} per process × ${c.processes} processes = ${c.total}`)
    if (c.maxConnections !== undefined) {
      out.push(`  server: max_connections ${c.maxConnections}, reserved ${c.reserved}, budget ${c.budget}, open now ${c.currentlyOpen}`)
    }
    if (r.redis) {
      const x = r.redis
      out.push('', 'Redis:')
      out.push(`  clients: ${x.connectedClients} connected, about ${x.estimatedClients} for this deployment, maxclients ${x.maxClients}`)
      out.push(`  memory: ${mb(x.usedMemory)} used, maxmemory ${x.maxMemory ? mb(x.maxMemory) : 'none'}, policy ${x.policy}`)
    }
  }
  out.push('', 'Redis round trips per request (api side, estimated from the plugins):')
  out.push(
    '  ' +
      Object.entries(r.roundTrips)
        .map(([g, n]) => `${g} ${n}`)
        .join(', '),
  )
  out.push('', 'What the tier limits let one active user send:')
  for (const [t, x] of Object.entries(r.tiers)) {
    out.push(`  ${t}: ${x.perUserPerSecond} req/s; 1,000 such users = ${x.per1000UsersPerInstance} req/s per api instance`)
  }
  if (r.llmQuota) {
    const q = r.llmQuota
    out.push(
      '',
      `LLM provider quota: ${q.requestsPerMinute || '-'} requests/min, ${q.tokensPerMinute || '-'} tokens/min, ${q.requestsPerDay || '-'} requests/day`,
    )
  }
  out.push('')
  if (r.problems.length === 0) out.push('No problems found.')
  else {
    out.push('Problems:')
    for (const p of r.problems) out.push(`  ${p.severity === 'error' ? 'ERROR' : 'warning'} ${p.code}: ${p.message}`)
  }
  return out.join('\n')
}

const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`
