/**
 * `defineScale`: the typed entry point of `config/scale.ts`. What the runtime makes of it
 * (every default filled in) is `ResolvedConfig` in `resolved.ts`.
 */
import type { PluginEntry } from '../plugins/contract.ts'
import type { ConfigInput } from './schema.ts'

/** What a config file exports. Every field is optional; the defaults are in `resolveConfig` (load.ts) and the README. */
export type ScaleConfig = Omit<ConfigInput, 'plugins'> & { plugins?: PluginEntry[] }

/**
 * Declare the runtime's configuration with types and editor completion.
 *
 * @example
 * export default defineScale({
 *   instances: 1,
 *   tiers: { free: { ... }, paid: { ... } },
 *   plugins: [],
 * })
 */
export function defineScale(config: ScaleConfig): ScaleConfig {
  return config
}
