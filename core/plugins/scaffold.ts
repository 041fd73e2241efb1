/**
 * `scale-runtime new-plugin <name>`: writes a plugin package from templates/plugin (and,
 * with `--slot rateLimit`, templates/plugin-rate-limit over it): manifest, definePlugin
 * skeleton, README, strict tsconfig, and the conformance suites wired into its tests.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ScaleError, quote } from '../errors.ts'
import { CORE_VERSION } from '../version.ts'

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url))
/** Slots with a skeleton implementation in the template, and its folder. */
const SLOT_TEMPLATES: Record<string, string> = { rateLimit: 'plugin-rate-limit' }

export interface NewPluginOptions {
  /** Kebab-case plugin name (`audit-log`), or a package name (`scale-plugin-audit-log`, `@acme/audit-log`). */
  name: string
  /** A slot to fill with a skeleton implementation and its conformance suite. */
  slot?: string
  /** Where to write it. Default: `./<name>`. */
  dir?: string
}

/** The semver range a new plugin declares: the current major (minor, while 0.x) and up. */
export function coreRange(version = CORE_VERSION): string {
  const [major, minor] = version.split('.')
  return major === '0' ? `^0.${minor}.0` : `^${major}.0.0`
}

/** Write the package; returns its folder and the files written. */
export function writePlugin(opts: NewPluginOptions): { dir: string; files: string[] } {
  const pkg = opts.name.startsWith('@') || opts.name.startsWith('scale-plugin-') ? opts.name : `scale-plugin-${opts.name}`
  const name = pkg.replace(/^@[^/]+\//, '').replace(/^scale-plugin-/, '')
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new ScaleError('PLUGIN_INVALID', `plugin name ${quote(opts.name)} is not kebab-case; use lower-case letters, digits and dashes`)
  }
  const overlay = opts.slot === undefined ? undefined : SLOT_TEMPLATES[opts.slot]
  if (opts.slot !== undefined && !overlay) {
    throw new ScaleError(
      'PLUGIN_INVALID',
      `the template has a skeleton for the ${Object.keys(SLOT_TEMPLATES).join(', ')} slot, not ${quote(opts.slot)}; leave out --slot and start from the plain skeleton`,
    )
  }
  const dir = resolve(opts.dir ?? name)
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new ScaleError('PLUGIN_INVALID', `${quote(dir)} already exists and is not empty; choose another --dir`)
  }
  const fill = (text: string) =>
    text.replaceAll('__PACKAGE__', pkg).replaceAll('__NAME__', name).replaceAll('__CORE_RANGE__', coreRange())
  const files = new Map<string, string>()
  for (const folder of ['plugin', ...(overlay ? [overlay] : [])]) {
    for (const file of readdirSync(join(TEMPLATES, folder))) files.set(file, readFileSync(join(TEMPLATES, folder, file), 'utf8'))
  }
  mkdirSync(dir, { recursive: true })
  for (const [file, text] of files) writeFileSync(join(dir, file), fill(text))
  return { dir, files: [...files.keys()].sort() }
}

/** The command: `new-plugin <name> [--slot <slot>] [--dir <folder>]`. */
export async function newPluginCommand(args: string[]): Promise<number> {
  const opts: Partial<NewPluginOptions> = {}
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--slot' || arg === '--dir') {
      const value = args[++i]
      if (value === undefined) return usageError(`${arg} needs a value`)
      opts[arg === '--slot' ? 'slot' : 'dir'] = value
    } else if (arg.startsWith('-') || opts.name !== undefined) {
      return usageError(`unexpected argument ${quote(arg)}`)
    } else {
      opts.name = arg
    }
  }
  if (!opts.name) return usageError('a plugin name is required')
  const { dir, files } = writePlugin(opts as NewPluginOptions)
  console.log(`wrote ${files.join(', ')} to ${dir}\nnext: cd ${dir} && npm install && npm test`)
  return 0
}

function usageError(message: string): number {
  console.error(`${message}\nusage: scale-runtime new-plugin <name> [--slot rateLimit] [--dir <folder>]`)
  return 2
}
