/**
 * Turns config plugin entries (objects, package names, `[name, options]`) into plugins.
 * Package names are resolved from the app's own node_modules (next to its config file, then
 * the working directory), so a runtime installed as a dependency finds the app's plugins.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ScaleError, quote } from '../errors.ts'
import { blame } from './blame.ts'
import type { PluginEntry, ScalePlugin } from './contract.ts'

/** Marks where a plugin came from (its package), for errors raised later in wiring. */
export const PLUGIN_PACKAGE = Symbol.for('scale-runtime.pluginPackage')

export interface ResolveOptions {
  /** Folders whose node_modules are searched first (the app's root). Default: the working directory. */
  from?: string[]
}

/** Each entry of `config.plugins` (a {@link PluginEntry}; anything else is refused with `PLUGIN_INVALID`) as a plugin. */
export async function resolvePlugins(entries: readonly unknown[], opts: ResolveOptions = {}): Promise<ScalePlugin[]> {
  const out: ScalePlugin[] = []
  for (const entry of entries) out.push(await resolveOne(entry, opts.from ?? [process.cwd()]))
  return out
}

async function resolveOne(entry: unknown, from: string[]): Promise<ScalePlugin> {
  if (typeof entry !== 'string' && !Array.isArray(entry)) return check(entry, 'config.plugins entry')
  const [name, options] = typeof entry === 'string' ? [entry, {}] : (entry as Exclude<PluginEntry, ScalePlugin | string>)
  let mod: Record<string, unknown>
  try {
    mod = await import(locate(name, from))
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
  let plugin: unknown
  try {
    plugin = await factory(options)
  } catch (cause) {
    throw blame(`plugin package ${quote(name)}`, cause, 'PLUGIN_SETUP_FAILED', 'failed to create its plugin')
  }
  const checked = check(plugin, `plugin package ${quote(name)}`)
  Object.defineProperty(checked, PLUGIN_PACKAGE, { value: name, enumerable: false, configurable: true })
  return checked
}

/** The file a package name resolves to from the app's folders, or the name itself (the runtime's own resolution). */
function locate(name: string, from: string[]): string {
  for (const dir of from) {
    try {
      return pathToFileURL(createRequire(join(dir, 'package.json')).resolve(name)).href
    } catch {
      // not installed there; try the next folder
    }
  }
  return name
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
