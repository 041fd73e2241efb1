/** The runtime as a user starts it: `bun core/main.ts` and the operator CLI, as child processes. */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { client, startRuntime } from '../helpers/runtime.ts'

const ROOT = resolve(import.meta.dir, '../..')
const made: string[] = []
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'scale-e2e-'))
  made.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

function run(args: string[], env: Record<string, string>) {
  return Bun.spawn([process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
}

async function waitForLine(stream: ReadableStream<Uint8Array>, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const { done, value } = await reader.read()
    if (done) break
    text += decoder.decode(value)
    const m = text.match(pattern)
    if (m) {
      reader.releaseLock()
      return m
    }
  }
  throw new Error(`no line matching ${pattern} in:\n${text}`)
}

describe('npm start', () => {
  test('on the embedded default: ready answers 200, SIGTERM stops it cleanly', async () => {
    const dir = tmp()
    const proc = run(['core/main.ts'], { PORT: '0', DATA_DIR: join(dir, 'data') })
    try {
      const [, port] = await waitForLine(proc.stdout, /listening on http:\/\/[^:]+:(\d+)/)
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`)
      expect(ready.status).toBe(200)
      expect((await ready.json()).status).toBe('ready')
      // Access log lines are written without blocking; a clean stop still writes every one.
      for (let i = 0; i < 300; i++) await fetch(`http://127.0.0.1:${port}/v1/nope`, { headers: { 'x-request-id': `stop-${i}` } })
      proc.kill('SIGTERM')
      expect(await proc.exited).toBe(0)
      let rest = ''
      const reader = proc.stdout.getReader()
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
      const lines = rest
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
      expect(lines.filter((l) => l.msg === 'request' && String(l.reqId).startsWith('stop-')).length).toBe(300)
      expect(lines.some((l) => l.msg === 'stopped')).toBe(true)
    } finally {
      proc.kill('SIGKILL')
    }
  })

  test('a config declaring 3 instances on in-memory slots refuses to start, naming the plugins to add', async () => {
    const file = join(tmp(), 'three.ts')
    writeFileSync(file, `export default { instances: 3 }\n`)
    const proc = run(['core/main.ts'], { SCALE_CONFIG: file, PORT: '0' })
    expect(await proc.exited).toBe(1)
    const err = await new Response(proc.stderr).text()
    expect(err).toContain('MULTI_INSTANCE_IN_MEMORY')
    for (const plugin of ['session-redis', 'ratelimit-redis', 'llm-queue']) expect(err).toContain(plugin)
    expect(err).not.toContain('    at ') // a coded message, not a stack trace
  })

  test('a wrong config value stops start-up with a coded error quoting it', async () => {
    const proc = run(['core/main.ts'], { PORT: 'eighty' })
    expect(await proc.exited).toBe(1)
    const err = await new Response(proc.stderr).text()
    expect(err).toContain('CONFIG_INVALID')
    expect(err).toContain('"eighty"')
  })
})

describe('operator CLI', () => {
  test('set-tier changes a user’s tier; the user sees it on the next login', async () => {
    const dataDir = join(tmp(), 'data')
    const config = { database: { dataDir } }
    let rt = await startRuntime(config)
    const { email, token } = await client(() => rt).user()
    expect((await client(() => rt).get('/v1/me', token)).body.tier).toBe('free')
    await rt.stop()

    const cli = run(['core/cli.ts', 'set-tier', email, 'paid'], { DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(40) })
    expect(await cli.exited).toBe(0)
    expect(await new Response(cli.stdout).text()).toContain('is now paid')

    rt = await startRuntime(config)
    const login = await client(() => rt).post('/v1/auth/login', { email, password: 'correct horse battery' })
    expect(login.body.user.tier).toBe('paid')
    await rt.stop()
  })

  test('bad arguments print usage and exit 2', async () => {
    const cli = run(['core/cli.ts', 'set-tier', 'someone@example.com', 'platinum'], {})
    expect(await cli.exited).toBe(2)
    expect(await new Response(cli.stderr).text()).toContain('usage')
  })
})
