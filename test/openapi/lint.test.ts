/**
 * `/v1/openapi.json` under Redocly CLI's recommended rules (redocly.yaml), plus what the
 * rules do not check: the error schema on every error answer, Retry-After and RateLimit-*
 * headers on 429, null types in 3.1 form.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Runtime } from '../../core/app.ts'
import { HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'

const ROOT = join(import.meta.dir, '../..')

/**
 * Warnings accepted, each for a reason: the package declares no license; probes and the
 * metrics scrape have no client error to give; a WebSocket upgrade answers 101, not 2xx.
 */
const ACCEPTED = new Set([
  'info-license #/info',
  'operation-4xx-response #/paths/~1health~1live/get/responses',
  'operation-4xx-response #/paths/~1health~1ready/get/responses',
  'operation-4xx-response #/paths/~1metrics/get/responses',
  'operation-2xx-response #/paths/~1v1~1ws/get/responses',
])

let rt: Runtime
let doc: any
let dir: string
beforeAll(async () => {
  rt = await startRuntime()
  doc = await (await rt.app.handle(new Request('http://localhost/v1/openapi.json'))).json()
  dir = await mkdtemp(join(tmpdir(), 'scale-openapi-'))
}, HOOK_TIMEOUT)
afterAll(async () => {
  await rt?.stop()
  await rm(dir, { recursive: true, force: true })
}, HOOK_TIMEOUT)

test('the document passes Redocly’s recommended rules: no errors, and only the accepted warnings', async () => {
  const file = join(dir, 'openapi.json')
  await writeFile(file, JSON.stringify(doc, null, 2))
  const proc = Bun.spawn(
    ['node', join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format=json'],
    {
      cwd: dir,
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    },
  )
  const [out] = await Promise.all([new Response(proc.stdout).text(), proc.exited])
  const report = JSON.parse(out.slice(out.indexOf('{')))
  const problems = report.problems.map((p: any) => `${p.ruleId} ${p.location[0]?.pointer}`)
  expect(problems.filter((p: string) => !ACCEPTED.has(p))).toEqual([])
  expect(report.totals.errors).toBe(0)
}, 120_000)

test('every error answer carries the error schema; 429 and 503 say when to retry', () => {
  const ops = Object.entries<any>(doc.paths).flatMap(([path, item]) =>
    Object.entries<any>(item).map(([m, op]) => ({ key: `${m} ${path}`, op })),
  )
  expect(ops.length).toBeGreaterThan(15)
  for (const { key, op } of ops) {
    expect({ key, summary: typeof op.summary }).toEqual({ key, summary: 'string' })
    expect({ key, security: Array.isArray(op.security) }).toEqual({ key, security: true })
    for (const [status, r] of Object.entries<any>(op.responses)) {
      // Readiness answers 503 with its checks; the gateway answers in Anthropic's shape.
      if (!/^[45]/.test(status) || key === 'get /health/ready') continue
      if (key === 'post /v1/messages') {
        expect(r.$ref).toBe('#/components/responses/AnthropicError')
        continue
      }
      const response = doc.components.responses[r.$ref.split('/').pop()]
      expect({ key, status, schema: response.content['application/json'].schema }).toEqual({
        key,
        status,
        schema: { $ref: '#/components/schemas/Error' },
      })
    }
  }
  const limited = doc.components.responses.RateLimited
  expect(Object.keys(limited.headers).sort()).toEqual(['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After'])
  expect(Object.keys(doc.components.responses.Unavailable.headers)).toEqual(['Retry-After'])
  expect(doc.paths['/v1/conversations'].get.responses['429'].$ref).toBe('#/components/responses/RateLimited')
  expect(Object.keys(doc.paths['/v1/conversations'].get.responses['200'].headers)).toContain('RateLimit-Remaining')
  expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'bearerAuth', 'tokenQuery'])
  expect(doc.paths['/v1/auth/register'].post.security).toEqual([])
  expect(doc.paths['/v1/messages'].post.security).toEqual([{ apiKey: [] }, { bearerAuth: [] }])
})

test('3.1 null types, paths as the router serves them, and servers', async () => {
  expect(JSON.stringify(doc)).not.toContain('"nullable"')
  const list = doc.paths['/v1/conversations'].get.responses['200'].content['application/json'].schema
  expect(list.properties.nextCursor.type).toEqual(['string', 'null'])
  expect(Object.keys(doc.paths).filter((p) => p.length > 1 && p.endsWith('/'))).toEqual([])
  expect(doc.servers).toEqual([{ url: '/', description: 'this runtime' }])
  // The documented path is the one that answers.
  const r = await rt.app.handle(new Request('http://localhost/v1/conversations', { method: 'GET' }))
  expect(r.status).toBe(401)
})
