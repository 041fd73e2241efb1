/**
 * `GET /health/live` over a real socket is served by the runtime adapter ahead of the app
 * (core/http/live-probe.ts); in process (`app.handle`) it is the app's route. Both must
 * answer alike: status, body, content type, the request id, the JSON 431 for oversized
 * headers, `Connection: close` while draining; other methods still reach the app.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect } from 'node:net'
import type { Runtime } from '../../core/app.ts'
import { HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'

let rt: Runtime
let base = ''
beforeAll(async () => {
  rt = await startRuntime()
  base = `http://127.0.0.1:${(await rt.listen()).port}`
}, HOOK_TIMEOUT)
afterAll(() => rt?.stop(), HOOK_TIMEOUT)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** One GET on a new connection, as raw text up to the end of its body (fetch hides `Connection`). */
function rawGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`))
    s.setEncoding('utf8')
    s.on('data', (d: string) => {
      text += d
      if (text.endsWith('}')) (s.destroy(), resolve(text))
    })
    s.on('error', reject)
    s.on('close', () => resolve(text))
  })
}

/** The same request in process and over the socket. */
async function both(method: string, headers: Record<string, string> = {}) {
  const inProcess = await rt.app.handle(new Request('http://localhost/health/live', { method, headers }))
  const overHttp = await fetch(`${base}/health/live`, { method, headers })
  const view = async (r: Response) => ({
    status: r.status,
    type: r.headers.get('content-type'),
    body: method === 'HEAD' ? '' : await r.text(),
  })
  return { inProcess, overHttp, a: await view(inProcess), b: await view(overHttp) }
}

test('GET answers the same over the socket as in process, with the given or a new request id', async () => {
  const given = await both('GET', { 'x-request-id': 'probe-1' })
  expect(given.b).toEqual(given.a)
  expect(given.b).toEqual({ status: 200, type: given.a.type, body: '{"status":"live"}' })
  expect(given.a.type).toContain('application/json')
  expect(given.overHttp.headers.get('x-request-id')).toBe('probe-1')
  expect(given.inProcess.headers.get('x-request-id')).toBe('probe-1')

  const fresh = await both('GET', { 'x-request-id': 'bad id with spaces' })
  const [socketId, appId] = [fresh.overHttp.headers.get('x-request-id')!, fresh.inProcess.headers.get('x-request-id')!]
  expect(socketId).toMatch(UUID)
  expect(appId).toMatch(UUID)
  // Served by the adapter, not by the app: each has its own id sequence (a random prefix and a counter).
  expect(socketId.slice(0, 24)).not.toBe(appId.slice(0, 24))
})

test('headers over the limit get the same JSON 431', async () => {
  const big = { 'x-filler': 'x'.repeat(17 * 1024), 'x-request-id': 'probe-big' }
  const r = await both('GET', big)
  // The byte counts in the messages differ: fetch adds headers of its own.
  expect({ ...r.b, body: JSON.parse(r.b.body).error.code }).toEqual({ ...r.a, body: JSON.parse(r.a.body).error.code })
  expect(r.a.status).toBe(431)
  expect(JSON.parse(r.a.body).error.code).toBe('HEADERS_TOO_LARGE')
  expect(r.overHttp.headers.get('x-request-id')).toBe('probe-big')
})

test('other methods on the path answer as the app does', async () => {
  for (const [method, status] of [
    ['POST', 404],
    ['DELETE', 404],
    ['HEAD', 200],
  ] as const) {
    const r = await both(method)
    expect(r.b).toEqual(r.a)
    expect(r.a.status).toBe(status)
  }
})

// Last: draining cannot be undone.
test('while draining, the answer asks the client to close its connection', async () => {
  rt.deps.drain.begin()
  const inProcess = await rt.app.handle(new Request('http://localhost/health/live'))
  expect(inProcess.headers.get('connection')).toBe('close')
  const raw = await rawGet(Number(new URL(base).port), '/health/live')
  expect(raw).toMatch(/^HTTP\/1\.1 200/)
  expect(raw.toLowerCase()).toContain('connection: close')
})
