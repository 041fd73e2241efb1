/**
 * One door for plugins: every plugin in this repository (plugins/*, examples/*, the bench's
 * plugins) imports scale-runtime only through `scale-runtime/plugin` (and its tests through
 * `scale-runtime/testing`), never a core file by path, so each works copied out as a package.
 */
import { expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '../..')

/** Plugin folders: each is one plugin and may import its own files. */
function pluginFolders(): string[] {
  const under = (dir: string) =>
    readdirSync(join(ROOT, dir), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(ROOT, dir, e.name))
  return [...under('plugins'), ...under('examples'), join(ROOT, 'bench/plugins')]
}

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => join(e.parentPath, e.name))
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm

test('plugins import scale-runtime only through scale-runtime/plugin and scale-runtime/testing', () => {
  const outside: string[] = []
  for (const folder of pluginFolders()) {
    for (const file of sources(folder)) {
      // Comments (JSDoc examples written from an app's point of view) are not imports.
      const code = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '')
      for (const [, spec] of code.matchAll(SPECIFIER)) {
        const escapes = spec!.startsWith('.') && relative(folder, resolve(dirname(file), spec!)).startsWith('..')
        const internal =
          spec!.startsWith('scale-runtime') && !['scale-runtime', 'scale-runtime/plugin', 'scale-runtime/testing'].includes(spec!)
        if (escapes || internal) outside.push(`${relative(ROOT, file)} imports ${spec}`)
      }
    }
  }
  expect(outside).toEqual([])
  expect(pluginFolders().length).toBeGreaterThanOrEqual(5)
})
