/**
 * Builds the published type declarations (dist/types) of `scale-runtime`,
 * `scale-runtime/plugin` and `scale-runtime/testing`: tsc declaration emit, then relative
 * `.ts` specifiers rewritten to `.js` so a consumer's tsconfig needs no
 * `allowImportingTsExtensions`. Run by `npm pack`/`npm publish` (prepack).
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'dist/types')

rmSync(out, { recursive: true, force: true })
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
})
if (tsc.status !== 0) process.exit(tsc.status ?? 1)

let files = 0
for (const entry of readdirSync(out, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue
  const file = join(entry.parentPath, entry.name)
  const text = readFileSync(file, 'utf8')
  writeFileSync(file, text.replace(/(['"])(\.{1,2}\/[^'"]+)\.ts\1/g, '$1$2.js$1'))
  files++
}
console.log(`dist/types: ${files} declaration files`)
