/**
 * One process of the `chat-idle` load: holds `sockets` authenticated WebSockets to the runtime
 * and answers its parent over stdin/stdout (newline-delimited JSON), so the parent can spread
 * more sockets than one process may hold over several processes.
 *
 *   argv[2]: {"base","token","sockets","concurrency","timeoutMs"}
 *   stdout:  {"opened","failed","ms"} once every socket is open (or failed)
 *   stdin "ping":  a `ping` frame on every open socket; stdout {"pinged","answered","ms":[...]}
 *   stdin "close": close them all, print {"unexpectedCloses"} and exit
 */
export interface IdleClientSpec {
  base: string
  token: string
  sockets: number
  /** Sockets opening at once. */
  concurrency: number
  /** For the open phase and for the pings. */
  timeoutMs: number
}

const spec = JSON.parse(process.argv[2]!) as IdleClientSpec
const url = `${spec.base.replace(/^http/, 'ws')}/v1/ws?token=${encodeURIComponent(spec.token)}`
const open: WebSocket[] = []
let unexpectedCloses = 0
let closing = false
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)

function openOne(): Promise<WebSocket | undefined> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url)
    const timer = setTimeout(() => (ws.close(), resolve(undefined)), spec.timeoutMs)
    ws.onopen = () => (clearTimeout(timer), resolve(ws))
    ws.onerror = () => (clearTimeout(timer), resolve(undefined))
    ws.onclose = () => {
      if (!closing) unexpectedCloses++
    }
  })
}

async function openAll() {
  const t0 = performance.now()
  let next = 0
  let failed = 0
  await Promise.all(
    Array.from({ length: Math.min(spec.concurrency, spec.sockets) }, async () => {
      while (next++ < spec.sockets) {
        const ws = await openOne()
        if (ws) open.push(ws)
        else failed++
      }
    }),
  )
  print({ opened: open.length, failed, ms: performance.now() - t0 })
}

async function pingAll() {
  const ms: number[] = []
  await Promise.all(
    open.map(
      (ws) =>
        new Promise<void>((resolve) => {
          const t0 = performance.now()
          const timer = setTimeout(resolve, spec.timeoutMs)
          ws.onmessage = (m) => {
            if ((JSON.parse(String(m.data)) as { type?: string }).type !== 'pong') return
            ms.push(performance.now() - t0)
            clearTimeout(timer)
            resolve()
          }
          if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}')
        }),
    ),
  )
  print({ pinged: open.length, answered: ms.length, ms })
}

await openAll()
for await (const line of console) {
  if (line === 'ping') await pingAll()
  if (line === 'close') {
    closing = true
    for (const ws of open) ws.close()
    print({ unexpectedCloses })
    process.exit(0)
  }
}
