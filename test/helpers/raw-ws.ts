/**
 * A WebSocket client on a raw TCP socket, for tests where the client's reading is the point:
 * it does the upgrade by hand and can stop reading (`pause()`), so the server's send buffer
 * fills as it would behind a slow mobile link. Frames are parsed only when `resume()`d, and
 * pings are answered only then (the server's read receipt).
 */
import { connect, type Socket } from 'node:net'

export interface RawFrame {
  /** 1 text, 8 close, 9 ping, 10 pong. */
  opcode: number
  text?: string
  closeCode?: number
  closeReason?: string
}

/** Encode one masked client frame (clients must mask). */
function encode(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4].map(() => Math.floor(Math.random() * 256)))
  const len = payload.length
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.alloc(4)
  if (len >= 126) {
    if (len > 0xffff) throw new Error('frame too long for this test client')
    head[0] = 0x80 | opcode
    head[1] = 0x80 | 126
    head.writeUInt16BE(len, 2)
  }
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))
  return Buffer.concat([head, mask, body])
}

/**
 * Open `ws://127.0.0.1:<port><path>` on a raw socket.
 *
 * @example
 * const c = await rawWebSocket(port, `/v1/ws?token=${token}`)
 * c.pause(); c.sendText(JSON.stringify({ type: 'ping' }))
 */
export async function rawWebSocket(port: number, path: string) {
  const socket: Socket = connect({ host: '127.0.0.1', port })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  let buf = Buffer.alloc(0)
  let status: number | undefined
  const frames: RawFrame[] = []
  let bytes = 0
  let ended = false
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const w of [...waiters]) w()
  }

  function parse() {
    for (;;) {
      if (buf.length < 2) return
      const opcode = buf[0]! & 0x0f
      let len = buf[1]! & 0x7f
      let off = 2
      if (len === 126) {
        if (buf.length < 4) return
        len = buf.readUInt16BE(2)
        off = 4
      } else if (len === 127) {
        if (buf.length < 10) return
        len = Number(buf.readBigUInt64BE(2))
        off = 10
      }
      if (buf.length < off + len) return
      const payload = buf.subarray(off, off + len)
      buf = buf.subarray(off + len)
      if (opcode === 8) {
        frames.push({
          opcode,
          closeCode: payload.length >= 2 ? payload.readUInt16BE(0) : undefined,
          closeReason: payload.subarray(2).toString(),
        })
      } else {
        // As every client must: a ping read is answered with a pong echoing its payload.
        if (opcode === 9) socket.write(encode(10, Buffer.from(payload)))
        frames.push({ opcode, text: opcode === 1 ? payload.toString() : undefined })
      }
    }
  }

  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length
    buf = Buffer.concat([buf, chunk])
    if (status === undefined) {
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      status = Number(/^HTTP\/1\.1 (\d+)/.exec(buf.subarray(0, end).toString())?.[1])
      buf = buf.subarray(end + 4)
    }
    parse()
    wake()
  })
  socket.on('close', () => {
    ended = true
    wake()
  })
  socket.on('error', () => {})

  const until = <T>(fn: () => T | undefined, ms: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = fn()
        if (v === undefined) return
        waiters.delete(check)
        clearTimeout(timer)
        resolve(v)
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`timed out waiting for ${what}; ${frames.length} frames, status ${status}`))
      }, ms)
      waiters.add(check)
      check()
    })

  await until(() => status, 10_000, 'the upgrade answer')
  return {
    status: status!,
    frames,
    /** Text frames parsed as JSON (throws on a frame cut short). */
    json: () => frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.text!)),
    bytesRead: () => bytes,
    sendText: (text: string) => socket.write(encode(1, Buffer.from(text))),
    /** Stop reading: the kernel buffers fill, then the server's send buffer. */
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    next: (pred: (f: RawFrame) => boolean, ms = 20_000) => until(() => frames.find(pred), ms, 'a frame'),
    /** The close frame, or `undefined` when the connection ended without one. */
    closed: (ms = 20_000) =>
      until(() => frames.find((f) => f.opcode === 8) ?? (ended ? null : undefined), ms, 'the close').then((f) => f ?? undefined),
    destroy: () => socket.destroy(),
  }
}

/** The `seq`s of each job's events, in arrival order: a whole stream reads 1, 2, 3, ... */
export function seqsByJob(events: { jobId?: string; seq?: unknown }[]): number[][] {
  const byJob = new Map<string, number[]>()
  for (const e of events) if (typeof e.seq === 'number') byJob.set(e.jobId!, [...(byJob.get(e.jobId!) ?? []), e.seq])
  return [...byJob.values()]
}

/** The text of the `delta` events, joined: a whole reply when the events are. */
export function deltasText(events: { type?: unknown; text?: unknown }[]): string {
  return events
    .filter((e) => e.type === 'delta')
    .map((e) => e.text)
    .join('')
}

/** A job's last event: `done` or `error` (checked on the frame's start, cheap on large frames). */
const endsJob = (f: RawFrame) => f.opcode === 1 && /^\{"type":"(done|error)"/.test(f.text!)

/**
 * Reconnect and `resume` `jobId` after `afterSeq`, as a client closed with 4008 does: resolves
 * with the job's events on the new socket once the last (`done` or `error`) has arrived.
 */
export async function resumeAfter(port: number, token: string, jobId: string, afterSeq: number, ms = 20_000) {
  const c = await rawWebSocket(port, `/v1/ws?token=${token}`)
  try {
    c.sendText(JSON.stringify({ type: 'resume', jobId, afterSeq }))
    await c.next(endsJob, ms)
    return c.json().filter((e) => e.jobId === jobId && typeof e.seq === 'number')
  } finally {
    c.destroy()
  }
}
