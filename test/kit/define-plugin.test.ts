/**
 * definePlugin and the loader's errors as a plugin author meets them: options checked with
 * coded errors naming plugin and option, factory and setup errors naming the package, slot
 * values checked against their port, Redis failures naming the plugin that needed Redis, and
 * coded errors that keep their code when they come from another copy of scale-runtime.
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { definePlugin, isScaleError, ScaleError, Type, type ScalePlugin } from 'scale-runtime/plugin'
import { testContext } from 'scale-runtime/testing'
import { loadConfig } from '../../core/config/load.ts'
import { resolvePlugins } from '../../core/plugins/resolve.ts'
import { wirePlugins } from '../../core/plugins/wire.ts'
import { startRuntime } from '../helpers/runtime.ts'

const caught = async (f: () => unknown): Promise<{ code?: string; message: string }> => {
  try {
    await f()
  } catch (e) {
    return e as { code?: string; message: string }
  }
  throw new Error('expected an error')
}

const greeter = definePlugin({
  manifest: { name: 'greeter', core: '^0.1.0' },
  options: Type.Object(
    {
      greeting: Type.String({ default: 'hi', minLength: 1, description: 'a non-empty greeting' }),
      window: Type.Optional(
        Type.Union([Type.String({ pattern: '^\\d+ s$' }), Type.Number()], { description: "a duration such as '30 s'" }),
      ),
    },
    { additionalProperties: false },
  ),
  create: (options) => ({
    setup: () => ({}),
    health: () => (options.greeting === 'hi' ? 'ok' : { status: 'degraded', detail: options.greeting }),
  }),
})

describe('definePlugin options', () => {
  test('defaults are filled in and the manifest is attached', async () => {
    const p = greeter()
    expect(p.manifest.name).toBe('greeter')
    expect(await p.health?.()).toBe('ok')
    expect(await greeter({ greeting: 'hello' }).health?.()).toEqual({ status: 'degraded', detail: 'hello' })
  })

  test('a wrong option is PLUGIN_OPTIONS_INVALID naming the plugin, the option and what is valid', async () => {
    const e = await caught(() => greeter({ window: 'soon' }))
    expect(e.code).toBe('PLUGIN_OPTIONS_INVALID')
    expect(e.message).toBe(`plugin "greeter" option window is "soon"; expected a duration such as '30 s'`)
    expect((await caught(() => greeter({ greeting: '' }))).message).toContain('option greeting is ""; expected a non-empty greeting')
  })

  test('an unknown option is refused by name', async () => {
    const e = await caught(() => (greeter as (o: unknown) => ScalePlugin)({ greting: 'typo' }))
    expect(e.code).toBe('PLUGIN_OPTIONS_INVALID')
    expect(e.message).toBe('plugin "greeter" has no option greting; its options are greeting, window')
  })

  test('a config file whose plugin refuses its options stops with that code, not CONFIG_NOT_FOUND', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-config-'))
    try {
      const file = join(dir, 'scale.ts')
      const entry = resolve(import.meta.dir, '../../core/plugin.ts')
      writeFileSync(
        file,
        `import { definePlugin, Type } from ${JSON.stringify(entry)}\nconst p = definePlugin({ manifest: { name: 'strict', core: '^0.1.0' }, options: Type.Object({ n: Type.Integer({ description: 'an integer' }) }), create: () => ({ setup: () => ({}) }) })\nexport default { plugins: [p({ n: 1.5 })] }\n`,
      )
      const e = await caught(() => loadConfig({}, file))
      expect(e).toMatchObject({ code: 'PLUGIN_OPTIONS_INVALID', message: 'plugin "strict" option n is 1.5; expected an integer' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('loading and wiring errors name the plugin', () => {
  test('a package is found in the app’s node_modules, and its throwing factory is named by package', async () => {
    const app = mkdtempSync(join(tmpdir(), 'kit-app-'))
    try {
      const pkg = join(app, 'node_modules/scale-plugin-explodes')
      mkdirSync(pkg, { recursive: true })
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'scale-plugin-explodes', type: 'module', main: 'index.js' }))
      writeFileSync(join(pkg, 'index.js'), `export default () => { throw new TypeError('cannot read the moon') }\n`)
      const e = await caught(() => resolvePlugins(['scale-plugin-explodes'], { from: [app] }))
      expect(e.code).toBe('PLUGIN_SETUP_FAILED')
      expect(e.message).toBe('plugin package "scale-plugin-explodes" failed to create its plugin: cannot read the moon')
      // Not installed where the runtime itself lives: only the app's folder has it.
      expect((await caught(() => resolvePlugins(['scale-plugin-explodes'], { from: [] }))).code).toBe('PLUGIN_NOT_FOUND')
    } finally {
      rmSync(app, { recursive: true, force: true })
    }
  })

  test('a slot without its port’s methods fails at wiring, naming plugin and methods', async () => {
    const empty: ScalePlugin = {
      manifest: { name: 'empty-limiter', core: '^0.1.0', provides: ['rateLimit'] },
      setup: () => ({ slots: { rateLimit: {} as never } }),
    }
    const e = await caught(() => wirePlugins([empty], testContext()))
    expect(e.code).toBe('PLUGIN_INVALID')
    expect(e.message).toContain('plugin "empty-limiter" returned a rateLimit slot without consume(), reset()')
    const half: ScalePlugin = { ...empty, setup: () => ({ slots: { rateLimit: { consume: async () => ({}) } as never } }) }
    expect((await caught(() => wirePlugins([half], testContext()))).message).toContain('without reset()')
  })

  test('a ScaleError from another copy of scale-runtime keeps its code through the host', async () => {
    // A second instance of the errors module, as a plugin bundling its own copy would have.
    const copy = (await import(`../../core/errors.ts?copy=${Date.now()}`)) as typeof import('../../core/errors.ts')
    expect(copy.ScaleError).not.toBe(ScaleError)
    const foreign = new copy.ScaleError('PLUGIN_OPTIONS_INVALID', 'option window must be a duration')
    expect(isScaleError(foreign)).toBe(true)
    expect(foreign instanceof ScaleError).toBe(true)
    const p: ScalePlugin = { manifest: { name: 'foreign', core: '^0.1.0' }, setup: () => Promise.reject(foreign) }
    const e = await caught(() => wirePlugins([p], testContext()))
    expect(e).toMatchObject({ code: 'PLUGIN_OPTIONS_INVALID', message: 'plugin "foreign": option window must be a duration' })
    expect(isScaleError({ code: 'NOT_FOUND', message: 'looks alike' })).toBe(false)
  })

  test('an unreachable Redis names the plugin that required it', async () => {
    const needy: ScalePlugin = { manifest: { name: 'needs-redis', core: '^0.1.0', requires: { services: ['redis'] } }, setup: () => ({}) }
    const e = await caught(() => startRuntime({ redis: { url: 'redis://127.0.0.1:1' }, plugins: [needy] }))
    expect(e.code).toBe('PLUGIN_MISSING_REQUIREMENT')
    expect(e.message).toStartWith('plugin "needs-redis" requires redis: redis at')
  }, 120_000)
})
