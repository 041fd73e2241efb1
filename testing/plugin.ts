/**
 * The plugin contract suite: a plugin package's manifest, options, setup, slots, health and
 * stop, checked the way the runtime checks them at start-up. Also `testContext()` and
 * `slotOf()`, to run a port's suite on the slot a plugin returns.
 */
import { describe, expect, test } from 'bun:test'
import { Registry } from 'prom-client'
import semver from 'semver'
import { resolveConfig } from '../core/config/load.ts'
import type { ScaleConfig } from '../core/config/define.ts'
import { isScaleError } from '../core/errors.ts'
import { createLogger } from '../core/observability/logger.ts'
import type { PluginContext, ScalePlugin } from '../core/plugins/contract.ts'
import { checkSlotShape } from '../core/plugins/slot-shape.ts'
import { SLOT_NAMES, type SlotName, type Slots } from '../core/ports/index.ts'
import { CORE_VERSION } from '../core/version.ts'
import { settle } from './settle.ts'

export interface PluginSuiteOptions {
  /** Options that must be accepted (passed to the factory). Default `{}`. */
  options?: Record<string, unknown>
  /** An options object the factory must refuse with `PLUGIN_OPTIONS_INVALID`. Default: an unknown option. */
  invalidOptions?: Record<string, unknown>
  /** What `setup` gets besides the defaults of {@link testContext} (a database, a Redis client). */
  context?: () => Partial<PluginContext> | Promise<Partial<PluginContext>>
}

/**
 * A context for `setup` outside a running app: the default config (plus `config`), a silent
 * logger, a fresh metrics registry, no database. Give what your plugin needs in `extra`.
 */
export function testContext(config: ScaleConfig = {}, extra: Partial<PluginContext> = {}): PluginContext {
  return {
    config: resolveConfig(config),
    logger: createLogger('silent'),
    metrics: new Registry(),
    db: undefined as never,
    slots: {},
    ...extra,
  }
}

/**
 * Set up `plugin` and return its `slot`, whose `stop()` also stops the plugin: hand it to a
 * port's suite, e.g. `rateLimiterSuite('mine', () => slotOf(myPlugin(), 'rateLimit'))`.
 */
export async function slotOf<S extends SlotName>(plugin: ScalePlugin, slot: S, ctx: PluginContext = testContext()): Promise<Slots[S]> {
  const setup = await plugin.setup(ctx)
  const value = setup.slots?.[slot]
  if (!value) throw new Error(`plugin ${plugin.manifest.name} returned no ${slot} slot`)
  const own = value as Slots[S] & { stop?: () => Promise<void> }
  return Object.assign(Object.create(own) as Slots[S], {
    async stop() {
      await own.stop?.()
      await plugin.stop?.()
    },
  })
}

/**
 * Runs the plugin contract against a package's default export.
 *
 * @example
 * import myPlugin from '../index.ts'
 * pluginSuite('my-plugin', myPlugin, { options: { window: '1 s' } })
 */
export function pluginSuite(
  name: string,
  factory: (options?: Record<string, unknown>) => ScalePlugin,
  opts: PluginSuiteOptions = {},
): void {
  const make = () => factory(opts.options ?? {})
  const context = async () => testContext({}, (await opts.context?.()) ?? {})

  describe(`plugin conformance: ${name}`, () => {
    test('the manifest has a kebab-case name, a core range this core satisfies, and known slots', () => {
      const { manifest } = make()
      expect(manifest.name).toMatch(/^[a-z0-9@][a-z0-9@/._-]*$/)
      expect(semver.validRange(manifest.core)).not.toBeNull()
      expect(semver.satisfies(CORE_VERSION, manifest.core, { includePrerelease: true })).toBe(true)
      for (const slot of manifest.provides ?? []) expect(SLOT_NAMES).toContain(slot)
    })

    test('options it cannot use are refused with PLUGIN_OPTIONS_INVALID naming the plugin', () => {
      let error: unknown
      try {
        factory(opts.invalidOptions ?? { ...opts.options, notAnOptionOfThisPlugin: true })
      } catch (e) {
        error = e
      }
      expect(isScaleError(error)).toBe(true)
      expect((error as { code: string }).code).toBe('PLUGIN_OPTIONS_INVALID')
      expect((error as Error).message).toContain(make().manifest.name)
    })

    test('setup returns exactly the declared slots, each with the methods its port requires', async () => {
      const plugin = make()
      try {
        const setup = await plugin.setup(await context())
        const returned = Object.keys(setup.slots ?? {}).sort()
        expect(returned).toEqual([...(plugin.manifest.provides ?? [])].sort())
        for (const slot of returned as SlotName[]) {
          expect(() => checkSlotShape(plugin.manifest.name, slot, setup.slots?.[slot])).not.toThrow()
        }
      } finally {
        await plugin.stop?.()
      }
    })

    test('health answers ok, degraded or down', async () => {
      const plugin = make()
      try {
        await plugin.setup(await context())
        const h = (await plugin.health?.()) ?? 'ok'
        expect(h === 'ok' || ['ok', 'degraded', 'down'].includes(h.status)).toBe(true)
      } finally {
        await plugin.stop?.()
      }
    })

    test('stop can be called twice', async () => {
      const plugin = make()
      await plugin.setup(await context())
      await plugin.stop?.()
      expect(await settle(plugin.stop?.())).toBe('done')
    })
  })
}
