import { expect, test } from 'bun:test'
import { client, describeEachDatabase, startRuntime } from '../helpers/runtime.ts'

describeEachDatabase('operations', (rt) => {
  const api = client(rt)

  test('/health/live and /health/ready answer 200 with the checks', async () => {
    expect((await api.get('/health/live')).status).toBe(200)
    const ready = await api.get('/health/ready')
    expect(ready.status).toBe(200)
    expect(ready.body.status).toBe('ready')
    expect(ready.body.checks.database).toBe('ok')
  })

  test('/metrics is Prometheus text with requests by route and status and a latency histogram', async () => {
    const { token } = await api.user()
    await api.get('/v1/conversations', token)
    await api.get('/v1/conversations/not-a-uuid', token)
    await Bun.sleep(20) // metrics are recorded after the response is sent
    const m = await api.call('GET', '/metrics')
    expect(m.headers.get('content-type')).toContain('text/plain')
    const lines = (m.body as string).split('\n')
    const requests = lines.filter((l) => l.startsWith('http_requests_total{'))
    expect(requests).toContain('http_requests_total{method="GET",route="/v1/conversations/",status="200"} 1')
    expect(requests).toContain('http_requests_total{method="GET",route="/v1/conversations/:id",status="400"} 1')
    expect(
      lines.some((l) => l.startsWith('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/conversations/"}')),
    ).toBe(true)
  })

  test('the OpenAPI document is generated from the route schemas', async () => {
    const doc = (await api.get('/v1/openapi.json')).body
    expect(doc.openapi).toMatch(/^3\./)
    for (const p of ['/v1/auth/register', '/v1/auth/login', '/v1/me', '/v1/conversations', '/v1/conversations/{id}', '/v1/sync']) {
      expect(Object.keys(doc.paths)).toContain(p)
    }
    const register = doc.paths['/v1/auth/register'].post
    expect(JSON.stringify(register.requestBody)).toContain('password')
  })

  test('every response carries a request id, and a sane given one is kept', async () => {
    const r = await api.call('GET', '/health/live', { headers: { 'x-request-id': 'abc-123' } })
    expect(r.headers.get('x-request-id')).toBe('abc-123')
    const generated = await api.call('GET', '/health/live', { headers: { 'x-request-id': 'bad id with spaces' } })
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  })

  test('an unknown route is a 404 in the error shape', async () => {
    const r = await api.get('/v1/nope')
    expect(r.status).toBe(404)
    expect(r.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('/v1/nope') } })
  })
})

test('while draining, /health/ready is 503 and an in-flight reply stream still finishes', async () => {
  const rt = await startRuntime({ llm: { fakeTokenDelay: '20 ms' } })
  const { port } = await rt.listen()
  const base = `http://127.0.0.1:${port}`
  const api = client(() => rt)
  const { token } = await api.user()
  const conv = (await api.post('/v1/conversations', {}, token)).body.id
  const res = await fetch(`${base}/v1/conversations/${conv}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ content: 'keep streaming while we shut down' }),
  })
  const reader = res.body!.getReader()
  let text = new TextDecoder().decode((await reader.read()).value) // the stream is in flight
  const stopping = rt.stop()
  const ready = await api.get('/health/ready')
  expect(ready.status).toBe(503)
  expect(ready.body.status).toBe('draining')
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  expect(text).toContain('"type":"done"')
  await stopping
  await expect(fetch(`${base}/health/live`)).rejects.toThrow()
}, 60_000)

test('a chunked body over the limit is refused by the server with 413', async () => {
  const rt = await startRuntime({ server: { port: 0, hostname: '127.0.0.1', bodyLimit: 1024 } })
  const { port } = await rt.listen()
  try {
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(JSON.stringify({ email: 'x'.repeat(4096) })))
        c.close()
      },
    })
    const r = await fetch(`http://127.0.0.1:${port}/v1/auth/register`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    })
    expect(r.status).toBe(413)
  } finally {
    await rt.stop()
  }
}, 60_000)
