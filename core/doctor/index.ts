/**
 * `npm run cli -- doctor [--json]`: reads the config, probes what it names and prints a
 * capacity plan and the problems. Exit status 1 when a problem would fail in production.
 */
import { loadConfig } from '../config/load.ts'
import { isScaleError } from '../errors.ts'
import { checkManifests } from '../plugins/check.ts'
import { resolvePlugins } from '../plugins/resolve.ts'
import { buildReport, type PluginView, type Report } from './plan.ts'
import { probePostgres, probeRedis } from './probe.ts'
import { renderReport } from './render.ts'

export async function doctorReport(): Promise<Report> {
  const config = await loadConfig()
  const resolved = await resolvePlugins(config.plugins)
  let startupError: string | undefined
  try {
    checkManifests(resolved, config)
  } catch (e) {
    startupError = isScaleError(e) ? `${e.code}: ${e.message}` : String(e)
  }
  const plugins: PluginView[] = resolved.map((p) => ({
    name: p.manifest.name,
    provides: p.manifest.provides ?? [],
    options: (p as { options?: Record<string, unknown> }).options,
  }))
  const tuner = plugins.find((p) => p.name === 'pool-tuner')?.options as { group?: string } | undefined
  const group = tuner?.group ?? (config.database.url ? new URL(config.database.url).host : 'embedded')
  const wantsRedis = resolved.some((p) => p.manifest.requires?.services?.includes('redis'))
  const [postgres, redis] = await Promise.all([
    config.database.url ? probePostgres(config) : undefined,
    wantsRedis && config.redis.url ? probeRedis(config, group) : undefined,
  ])
  return buildReport({ config, plugins, startupError, postgres, redis })
}

export async function doctor(args: string[]): Promise<number> {
  const report = await doctorReport()
  console.log(args.includes('--json') ? JSON.stringify(report, null, 2) : renderReport(report))
  return report.problems.some((p) => p.severity === 'error') ? 1 : 0
}
