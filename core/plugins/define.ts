/**
 * `definePlugin()`: a plugin package's factory with a checked options schema (TypeBox).
 * Options are validated and defaulted when the factory is called (at start-up, before any
 * plugin is set up); a wrong one stops the process with `PLUGIN_OPTIONS_INVALID` naming the
 * plugin and the option.
 */
import { Type, TypeGuard, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox'
import { Value, ValueErrorType } from '@sinclair/typebox/value'
import { ScaleError, isScaleError, quote } from '../errors.ts'
import type { PluginManifest, ScalePlugin } from './contract.ts'

/** What `create` returns: everything of a plugin but its manifest. */
export type PluginBody = Omit<ScalePlugin, 'manifest'>

export interface PluginDefinition<S extends TSchema> {
  manifest: PluginManifest
  /**
   * The options schema. Use `Type.Object({...}, { additionalProperties: false })` so a
   * misspelt option is refused, `default` for defaults, `description` for what the error
   * says would be valid.
   */
  options?: S
  /** Build one plugin from checked options (defaults filled in). Called once per factory call. */
  create(options: Static<S>): PluginBody
}

/** Options as a config file writes them: options with defaults may be left out. */
export type PluginOptionsInput<S extends TSchema> = S extends TObject<TProperties> ? Partial<Static<S>> : Static<S>

/** A plugin package's default export: `(options) => ScalePlugin`, with its manifest and schema attached. */
export interface PluginFactory<S extends TSchema> {
  (options?: PluginOptionsInput<S>): ScalePlugin
  readonly manifest: PluginManifest
  readonly options: S
}

/**
 * Define a plugin package's factory.
 *
 * @example
 * export default definePlugin({
 *   manifest: { name: 'hello', core: '^0.1.0' },
 *   options: Type.Object({ greeting: Type.String({ default: 'hi' }) }, { additionalProperties: false }),
 *   create: (opts) => ({ setup: () => ({ app: new Elysia().get('/v1/hello', () => opts.greeting) }) }),
 * })
 */
export function definePlugin<S extends TSchema = TObject<{}>>(def: PluginDefinition<S>): PluginFactory<S> {
  const schema = (def.options ?? Type.Object({}, { additionalProperties: false })) as S
  const factory = (input?: unknown): ScalePlugin => {
    const options: Static<S> = checkOptions<TSchema>(def.manifest.name, schema, input ?? {})
    let body: PluginBody
    try {
      body = def.create(options)
    } catch (cause) {
      if (isScaleError(cause)) throw cause
      throw new ScaleError('PLUGIN_SETUP_FAILED', `plugin ${quote(def.manifest.name)} could not be created: ${errorText(cause)}`, { cause })
    }
    return { ...body, manifest: def.manifest }
  }
  // The parameter is checked at run time; its static type is PluginOptionsInput<S>.
  return Object.assign(factory, { manifest: def.manifest, options: schema }) as PluginFactory<S>
}

/** Validate `input` against `schema` after filling in defaults; the result is a fresh copy. */
export function checkOptions<S extends TSchema>(plugin: string, schema: S, input: unknown): Static<S> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ScaleError('PLUGIN_OPTIONS_INVALID', `plugin ${quote(plugin)} options are ${quote(input)}; expected an object`)
  }
  const value = Value.Default(schema, Value.Clone(input))
  const error = Value.Errors(schema, value).First()
  if (error) {
    const where = error.path.replace(/^\//, '').replaceAll('/', '.')
    const what = error.value === undefined ? 'missing' : quote(error.value)
    const valid = error.schema.description ?? error.message
    if (error.type === ValueErrorType.ObjectAdditionalProperties) {
      const known = TypeGuard.IsObject(schema) ? Object.keys(schema.properties).join(', ') : ''
      throw new ScaleError('PLUGIN_OPTIONS_INVALID', `plugin ${quote(plugin)} has no option ${where}; its options are ${known || 'none'}`)
    }
    throw new ScaleError(
      'PLUGIN_OPTIONS_INVALID',
      where
        ? `plugin ${quote(plugin)} option ${where} is ${what}; expected ${valid}`
        : `plugin ${quote(plugin)} options are not valid: ${error.message}`,
    )
  }
  return value as Static<S>
}

/** The message of whatever was thrown. */
export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))
