/** Turns config plugin entries (objects, package names, `[name, options]`) into plugins. */
import { ScaleError, quote } from '../errors.ts'
import type { PluginEntry, ScalePlugin } from './contract.ts'

export async function resolvePlugins(entries: PluginEntry[]): Promise<ScalePlugin[]> {
  const out: ScalePlugin[] = []
  for (const entry of entries) out.push(await resolveOne(entry))
  return out
}

async function resolveOne(entry: PluginEntry): Promise<ScalePlugin> {
  if (typeof entry === 'string' || Array.isArray(entry)) {
    const [name, options] = typeof entry === 'string' ? [entry, {}] : entry
    let mod: Record<string, unknown>
    try {
      mod = await import(name)
    } catch (cause) {
      throw new ScaleError(
        'PLUGIN_NOT_FOUND',
        `plugin package ${quote(name)} could not be imported (${(cause as Error).message}); install it with \`npm install ${name}\` or fix the name in config/scale.ts`,
        { cause },
      )
    }
    const factory = mod.default ?? mod.plugin
    if (typeof factory !== 'function') {
      throw new ScaleError(
        'PLUGIN_INVALID',
        `plugin package ${quote(name)} has no default export; a plugin package default-exports a factory (options) => ScalePlugin`,
      )
    }
    return check(await factory(options), name)
  }
  return check(entry, 'config.plugins entry')
}

function check(p: unknown, from: string): ScalePlugin {
  const plugin = p as ScalePlugin
  if (!plugin || typeof plugin !== 'object' || typeof plugin.setup !== 'function' || !plugin.manifest) {
    throw new ScaleError(
      'PLUGIN_INVALID',
      `${from} is ${quote(p)}, not a plugin; a plugin is { manifest, setup(ctx) } (did you list the factory without calling it?)`,
    )
  }
  const { name, core } = plugin.manifest
  if (typeof name !== 'string' || !/^[a-z0-9@][a-z0-9@/._-]*$/.test(name)) {
    throw new ScaleError('PLUGIN_INVALID', `${from} has manifest.name ${quote(name)}; expected a kebab-case name`)
  }
  if (typeof core !== 'string') {
    throw new ScaleError(
      'PLUGIN_INVALID',
      `plugin ${quote(name)} has manifest.core ${quote(core)}; expected a semver range such as '^0.1.0'`,
    )
  }
  return plugin
}
