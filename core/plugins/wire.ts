/**
 * Sets up checked plugins in config order and collects the slots and apps they return.
 * A plugin may only fill the slots its manifest declares.
 */
import type { AnyElysia } from 'elysia'
import { ScaleError, quote } from '../errors.ts'
import type { SlotName, Slots } from '../ports/index.ts'
import { blame, pluginLabel } from './blame.ts'
import type { PluginApi, PluginContext, ScalePlugin } from './contract.ts'
import { PLUGIN_PACKAGE } from './resolve.ts'
import { checkSlotShape } from './slot-shape.ts'

export interface Wired {
  slots: Partial<Slots>
  apps: (AnyElysia | ((api: PluginApi) => AnyElysia))[]
  /** Plugins whose setup succeeded, in order (stopped in reverse). */
  started: ScalePlugin[]
}

export async function wirePlugins(plugins: ScalePlugin[], ctx: Omit<PluginContext, 'slots'>): Promise<Wired> {
  const wired: Wired = { slots: {}, apps: [], started: [] }
  for (const plugin of plugins) {
    const { name, provides = [] } = plugin.manifest
    let setup
    try {
      setup = await plugin.setup({ ...ctx, slots: { ...wired.slots } })
    } catch (cause) {
      await stopPlugins(wired.started)
      const label = pluginLabel(name, (plugin as { [PLUGIN_PACKAGE]?: string })[PLUGIN_PACKAGE])
      throw blame(label, cause, 'PLUGIN_SETUP_FAILED', 'failed to set up')
    }
    wired.started.push(plugin)
    for (const [slot, impl] of Object.entries(setup?.slots ?? {}) as [SlotName, unknown][]) {
      try {
        if (!provides.includes(slot)) {
          throw new ScaleError(
            'PLUGIN_INVALID',
            `plugin ${quote(name)} returned the ${slot} slot but its manifest does not list it in provides; add it to manifest.provides`,
          )
        }
        checkSlotShape(name, slot, impl)
      } catch (e) {
        await stopPlugins(wired.started)
        throw e
      }
      ;(wired.slots as Record<string, unknown>)[slot] = impl
    }
    for (const slot of provides) {
      if (!wired.slots[slot]) {
        await stopPlugins(wired.started)
        throw new ScaleError('PLUGIN_INVALID', `plugin ${quote(name)} declares the ${slot} slot but setup() returned no ${slot}`)
      }
    }
    if (setup?.app) wired.apps.push(setup.app)
  }
  return wired
}

/** Stop plugins in reverse order; one failing stop does not keep the others from stopping. */
export async function stopPlugins(started: ScalePlugin[]): Promise<Error[]> {
  const errors: Error[] = []
  for (const p of [...started].reverse()) {
    try {
      await p.stop?.()
    } catch (e) {
      errors.push(e as Error)
    }
  }
  return errors
}
