/**
 * The published package, proven from outside the repository: `npm pack` (which builds the
 * type declarations), a fresh plugin from the template installed next to an app in a temp
 * folder (npm workspaces, so one `npm install`: the tarball, other dependencies from the npm
 * cache or registry), a strict type-check of the plugin, its conformance tests from
 * `scale-runtime/testing`, and `scale-runtime start` (the command npx runs) loading it by package name.
 * Slow by nature: a few minutes on a loaded machine (pack with tsc, one npm install, tsc,
 * a runtime start), so every step has its own generous timeout.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { writePlugin } from '../../core/plugins/scaffold.ts'
import { API_READY, call, spawnUntil, type Proc } from '../helpers/remote.ts'

const ROOT = resolve(import.meta.dir, '../..')
const MINUTES = 60_000
let dir = ''
let tarball = ''
let app: Proc | undefined

/** Run a command to its end; fails the step with its output when it exits non-zero. */
function run(argv: string[], cwd: string, timeoutMs: number): string {
  const p = Bun.spawnSync(argv, {
    cwd,
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: timeoutMs,
    env: { ...process.env, npm_config_fund: 'false' },
  })
  const out = `${p.stdout.toString()}${p.stderr.toString()}`
  if (p.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${p.exitCode} in ${cwd}:\n${out}`)
  return out
}
const json = (file: string, value: unknown) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scale-kit-'))
  run(['npm', 'pack', '--pack-destination', dir], ROOT, 8 * MINUTES)
  tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')) ?? 'no tarball written')
  // A workspace of two: the plugin (as `new-plugin` writes it) and an app that uses it.
  json(join(dir, 'package.json'), { name: 'kit-proof', private: true, workspaces: ['plugin', 'app'] })
  writePlugin({ name: 'kit-proof', slot: 'rateLimit', dir: join(dir, 'plugin') })
  const pluginPkg = JSON.parse(readFileSync(join(dir, 'plugin/package.json'), 'utf8'))
  pluginPkg.devDependencies['scale-runtime'] = `file:${tarball}`
  json(join(dir, 'plugin/package.json'), pluginPkg)
  mkdirSync(join(dir, 'app/config'), { recursive: true })
  json(join(dir, 'app/package.json'), {
    name: 'kit-proof-app',
    private: true,
    type: 'module',
    dependencies: { 'scale-runtime': `file:${tarball}`, 'scale-plugin-kit-proof': '*' },
  })
  writeFileSync(
    join(dir, 'app/config/scale.ts'),
    `import { defineScale } from 'scale-runtime'\nexport default defineScale({ database: { dataDir: 'memory://' }, plugins: [['scale-plugin-kit-proof', { maxKeys: 1000 }]] })\n`,
  )
  run(['npm', 'install', '--prefer-offline', '--no-audit', '--no-fund'], dir, 8 * MINUTES)
}, 20 * MINUTES)

afterAll(async () => {
  // SIGTERM first: the command passes it to the Bun process it started.
  app?.proc.kill('SIGTERM')
  const exited = await Promise.race([app?.proc.exited, Bun.sleep(20_000).then(() => 'timeout')])
  if (exited === 'timeout') app?.proc.kill('SIGKILL')
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('scale-runtime as a published package', () => {
  test('the tarball holds the runtime, the kit, the template and built types, and none of the app', () => {
    const files = run(['tar', '-tzf', tarball], dir, MINUTES).split('\n')
    for (const f of [
      'package/core/plugin.ts',
      'package/testing/index.ts',
      'package/dist/types/core/plugin.d.ts',
      'package/bin/scale-runtime.js',
      'package/templates/plugin/index.ts',
      'package/LICENSE',
    ]) {
      expect(files).toContain(f)
    }
    expect(files.filter((f) => /^package\/(test|bench|\.ci|config)\//.test(f))).toEqual([])
  })

  test(
    'the plugin type-checks under a strict tsconfig without the runtime’s own settings',
    () => {
      const tsconfig = JSON.parse(readFileSync(join(dir, 'plugin/tsconfig.json'), 'utf8')).compilerOptions
      expect(tsconfig).toMatchObject({ strict: true, exactOptionalPropertyTypes: true })
      expect(tsconfig.allowImportingTsExtensions).toBeUndefined()
      run([process.execPath, join(dir, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', join(dir, 'plugin')], dir, 5 * MINUTES)
    },
    6 * MINUTES,
  )

  test(
    'its tests run the plugin contract and rateLimiterSuite from scale-runtime/testing, and pass',
    () => {
      const out = run([process.execPath, 'test', '--timeout', '60000'], join(dir, 'plugin'), 5 * MINUTES)
      expect(out).toContain('rate limiter conformance: kit-proof')
      expect(out).toContain('no burst across a window boundary')
      // 5 plugin contract cases and 12 rate limiter cases: every case ran, none was skipped.
      expect(out).toMatch(/\b18 pass\b/)
      expect(out).toMatch(/\b0 fail\b/)
    },
    6 * MINUTES,
  )

  test(
    'npx finds the scale-runtime command in the app',
    () => {
      expect(run(['npx', '--no-install', 'scale-runtime', 'help'], join(dir, 'app'), 2 * MINUTES)).toContain('scale-runtime new-plugin')
    },
    3 * MINUTES,
  )

  test(
    'scale-runtime start loads the plugin by package name from the app’s node_modules, and stops on SIGTERM',
    async () => {
      // The command npx runs, started directly: npx runs it under a shell that does not pass
      // SIGTERM on, so a process manager should start this file too.
      const bin = [join(dir, 'node_modules/.bin/scale-runtime'), 'start']
      app = await spawnUntil('', { PORT: '0' }, API_READY, { argv: bin, cwd: join(dir, 'app'), timeoutMs: 3 * MINUTES })
      const ready = await call(app.base, 'GET', '/health/ready')
      expect(ready.body.checks['kit-proof']).toBe('ok')
      // Register and login are limited per address through the rateLimit slot: the plugin's.
      const reg = await call(app.base, 'POST', '/v1/auth/register', { email: 'kit@example.com', password: 'correct horse battery' })
      expect(reg.status).toBe(201)
      expect(reg.headers.get('ratelimit-limit')).toBe('60')
      app.proc.kill('SIGTERM')
      expect(await app.proc.exited).toBe(0)
      expect(app.output()).toContain('stopped')
    },
    5 * MINUTES,
  )
})
