/**
 * Manifest checks, run on every plugin before any is set up. Each failure is a coded
 * error that says what to change in config/scale.ts.
 */
import semver from 'semver'
import type { ResolvedConfig } from '../config/resolved.ts'
import { ScaleError, quote } from '../errors.ts'
import { PROCESS_LOCAL_DEFAULTS, SLOT_NAMES, type SlotName } from '../ports/index.ts'
import { CORE_VERSION } from '../version.ts'
import type { ScalePlugin, Service } from './contract.ts'

export function checkManifests(plugins: ScalePlugin[], config: ResolvedConfig, coreVersion = CORE_VERSION): void {
  const byName = new Map<string, ScalePlugin>()
  const bySlot = new Map<SlotName, string>()
  for (const p of plugins) {
    const m = p.manifest
    if (byName.has(m.name)) {
      throw new ScaleError('PLUGIN_DUPLICATE', `plugin ${quote(m.name)} is listed twice in config.plugins; keep one entry`)
    }
    byName.set(m.name, p)
    if (!semver.validRange(m.core)) {
      throw new ScaleError('PLUGIN_INVALID', `plugin ${quote(m.name)} declares core range ${quote(m.core)}, which is not a semver range`)
    }
    if (!semver.satisfies(coreVersion, m.core, { includePrerelease: true })) {
      throw new ScaleError(
        'PLUGIN_CORE_INCOMPATIBLE',
        `plugin ${quote(m.name)} supports core ${quote(m.core)} but this core is ${coreVersion}; upgrade the plugin or use a core version in its range`,
      )
    }
    for (const slot of m.provides ?? []) {
      if (!SLOT_NAMES.includes(slot)) {
        throw new ScaleError(
          'PLUGIN_INVALID',
          `plugin ${quote(m.name)} provides unknown slot ${quote(slot)}; slots are ${SLOT_NAMES.join(', ')}`,
        )
      }
      const other = bySlot.get(slot)
      if (other) {
        throw new ScaleError(
          'PLUGIN_SLOT_CONFLICT',
          `plugins ${quote(other)} and ${quote(m.name)} both provide the ${slot} slot; remove one of them from config.plugins`,
        )
      }
      bySlot.set(slot, m.name)
    }
  }
  for (const p of plugins) {
    for (const need of p.manifest.requires?.plugins ?? []) {
      if (!byName.has(need)) {
        throw new ScaleError(
          'PLUGIN_MISSING_REQUIREMENT',
          `plugin ${quote(p.manifest.name)} requires plugin ${quote(need)}; add it to config.plugins`,
        )
      }
    }
    for (const service of p.manifest.requires?.services ?? []) {
      const missing = missingService(service, config)
      if (missing) {
        throw new ScaleError('PLUGIN_MISSING_REQUIREMENT', `plugin ${quote(p.manifest.name)} requires ${service}; ${missing}`)
      }
    }
  }
  if (config.instances > 1) checkMultiInstance(bySlot, config)
}

function missingService(service: Service, config: ResolvedConfig): string | undefined {
  if (service === 'postgres' && !config.database.url) return 'set DATABASE_URL (or database.url) to a PostgreSQL server'
  if (service === 'redis' && !config.redis.url) return 'set REDIS_URL (or redis.url)'
  return undefined
}

function checkMultiInstance(bySlot: Map<SlotName, string>, config: ResolvedConfig): void {
  const problems: string[] = []
  for (const [slot, fix] of Object.entries(PROCESS_LOCAL_DEFAULTS) as [SlotName, string][]) {
    if (!bySlot.has(slot) && !config.allowInMemory.includes(slot)) {
      problems.push(`the ${slot} slot is on its in-memory default (add the ${fix} plugin)`)
    }
  }
  if (!config.database.url) problems.push('the database is embedded in one process (set DATABASE_URL to a shared PostgreSQL)')
  if (!config.auth.jwtSecret) problems.push('each instance would sign tokens with its own random secret (set JWT_SECRET)')
  if (problems.length) {
    throw new ScaleError(
      'MULTI_INSTANCE_IN_MEMORY',
      `config declares ${config.instances} instances, but ${problems.join('; ')}. Fix these in config/scale.ts, or list a slot in allowInMemory to accept per-instance state knowingly.`,
    )
  }
}
