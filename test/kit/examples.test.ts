/** The example plugin, loaded by its package name as an app would, passes the plugin contract; the template refuses bad input. */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import auditLog from 'scale-plugin-audit-log'
import { pluginSuite } from 'scale-runtime/testing'
import { coreRange, newPluginCommand, writePlugin } from '../../core/plugins/scaffold.ts'

pluginSuite('scale-plugin-audit-log', auditLog, { options: { path: '/dev/null' }, invalidOptions: { methods: ['FETCH'] } })

describe('new-plugin', () => {
  test('writes the package with its manifest, skeleton, tests, README and strict tsconfig', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kit-new-')), 'p')
    try {
      const { files } = writePlugin({ name: 'hello', dir })
      expect(files).toEqual(['README.md', 'index.test.ts', 'index.ts', 'package.json', 'tsconfig.json'])
      expect(readdirSync(dir).sort()).toEqual(files)
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      expect(pkg).toMatchObject({ name: 'scale-plugin-hello', peerDependencies: { 'scale-runtime': coreRange() } })
      expect(readFileSync(join(dir, 'index.ts'), 'utf8')).toContain("from 'scale-runtime/plugin'")
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true })
    }
  })

  test('refuses a name that is not kebab-case, a slot without a skeleton, and a folder in use', () => {
    const base = mkdtempSync(join(tmpdir(), 'kit-new-'))
    try {
      expect(() => writePlugin({ name: 'Hello World', dir: join(base, 'a') })).toThrow(/not kebab-case/)
      expect(() => writePlugin({ name: 'x', slot: 'dbPool', dir: join(base, 'b') })).toThrow(
        /skeleton for the rateLimit slot, not "dbPool"/,
      )
      writeFileSync(join(base, 'taken'), '')
      expect(() => writePlugin({ name: 'x', dir: base })).toThrow(/not empty/)
    } finally {
      rmSync(base, { recursive: true, force: true })
    }
  })

  test('the command needs a name', async () => {
    expect(await newPluginCommand([])).toBe(2)
    expect(await newPluginCommand(['a', 'b'])).toBe(2)
    expect(coreRange('0.1.7')).toBe('^0.1.0')
    expect(coreRange('2.3.0')).toBe('^2.0.0')
  })
})
