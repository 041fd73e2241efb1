/**
 * The project type-checks: Bun runs TypeScript without checking it, so a type error would
 * otherwise only show in an editor. `tsc --noEmit -p .` over everything tsconfig.json
 * includes (core, plugins, config, bench, scripts, tests).
 */
import { expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const root = join(import.meta.dir, '../..')

test('tsc --noEmit -p . reports no error', () => {
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', root], { cwd: root, encoding: 'utf8', timeout: 170_000 })
  const errors = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /error TS\d+/.test(l))
  expect(errors).toEqual([])
  expect(r.status).toBe(0)
}, 180_000)
