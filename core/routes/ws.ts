/**
 * `GET /v1/ws`: the chat over one WebSocket. Authenticated before the upgrade (token in
 * `?token=` or as a `Sec-WebSocket-Protocol` value; Origin checked against
 * `server.allowedOrigins`), then JSON frames per API.md: send, resume, cancel, ping.
 * Slow clients: see chat/socket-sink.ts (pause, then close with 4008 and resume). A user
 * holds at most their tier's `maxSockets` on one instance (more close with 4429), and a
 * user disabled or deleted meanwhile has their open sockets closed with 4401.
 * A runtime-neutral {@link SocketRoute}: the runtime adapter (core/runtime/) serves it.
 */
import { type ClientFrame, type ProtocolError, parseFrame } from '../chat/frames.ts'
import { createSocketSink, type SocketSink } from '../chat/socket-sink.ts'
import { unavailableFrom } from '../outage.ts'
import { ScaleError, isScaleError } from '../errors.ts'
import { socketProtocol } from '../http/access.ts'
import { CLOSE_REVOKED, CLOSE_TOO_MANY_SOCKETS, createUserSockets, REVOKED_REASON } from './ws-users.ts'
import type { AppDeps } from '../http/deps.ts'
import { scaleErrorResponse } from '../http/errors.ts'
import type { JobEvent } from '../ports/llm-dispatch.ts'
import { CLOSE_SERVICE_RESTART, type SocketRoute, wantsUpgrade } from '../runtime/socket.ts'
import type { Principal } from '../services/tokens.ts'

interface Conn {
  user: Principal
  sink: SocketSink
  close(code: number, reason: string): void
}

export function wsRoutes({ config, tokens, access, chat, metrics, logger, drain }: AppDeps) {
  const allowed = config.server.allowedOrigins
  const conns = new Map<string, Conn>()
  const sockets = new Map<string, { close(code: number, reason: string): void }>()
  // Clients reconnect (through the load balancer, to another instance) and resume after their last seq.
  drain.onDrain(() => {
    for (const s of sockets.values()) s.close(CLOSE_SERVICE_RESTART, 'server restarting: reconnect and resume')
  })
  const userSockets = createUserSockets(tokens, config.auth.revocationCheckMs, logger)

  const stream = (c: Conn, jobId: string, open: (after: number, signal: AbortSignal) => AsyncIterable<JobEvent>, afterSeq: number) =>
    void c.sink.relay(
      jobId,
      (signal) => open(afterSeq, signal),
      (e) => c.sink.write(errorFrame(e, { jobId })),
    )

  async function handle(c: Conn, frame: ClientFrame) {
    switch (frame.type) {
      case 'ping':
        c.sink.write({ type: 'pong' })
        return
      case 'send': {
        const d = await access.charge(c.user, 'chat')
        if (!d.allowed) {
          c.sink.write({ type: 'rate_limited', retryAfterMs: d.retryAfterMs, clientId: frame.clientId })
          return
        }
        // The clientId is the send's idempotency key, shared with HTTP: a key is answered alike on either channel.
        const { body: sent } = await chat.send(c.user, frame.conversationId, frame.content, frame.clientId)
        c.sink.write({ type: 'accepted', clientId: frame.clientId, jobId: sent.job.id, messageId: sent.message.id })
        const open = await chat.openEvents(c.user, sent.job.id)
        stream(c, sent.job.id, open, 0)
        return
      }
      case 'resume': {
        const open = await chat.openEvents(c.user, frame.jobId)
        stream(c, frame.jobId, open, frame.afterSeq)
        return
      }
      case 'cancel':
        await chat.cancel(c.user, frame.jobId)
        return
    }
  }

  const route: SocketRoute<Principal> = {
    path: '/v1/ws',
    async upgrade(request) {
      try {
        const origin = request.headers.get('origin')
        if (origin && !allowed.includes('*') && !allowed.includes(origin)) {
          throw new ScaleError('FORBIDDEN', `origin ${JSON.stringify(origin)} is not allowed; add it to server.allowedOrigins`)
        }
        const user = await access.authenticate(request, 'socket')
        if (!wantsUpgrade(request))
          throw new ScaleError('VALIDATION_FAILED', '/v1/ws speaks WebSocket: send Upgrade: websocket', { status: 426 })
        return { data: user, protocol: socketProtocol(request) }
      } catch (e) {
        if (isScaleError(e)) return scaleErrorResponse(e)
        throw e
      }
    },
    open(ws) {
      const user = ws.data
      if (drain.draining) return ws.close(CLOSE_SERVICE_RESTART, 'server restarting: reconnect and resume')
      const max = config.tiers[user.tier].maxSockets
      if (userSockets.count(user.userId) >= max) {
        access.refuse('sockets')
        return ws.close(CLOSE_TOO_MANY_SOCKETS, `too many sockets: at most ${max} open at once for this user`)
      }
      const close = (code: number, reason: string) => ws.close(code, reason)
      const sink = createSocketSink(ws, config.websocket)
      conns.set(ws.id, { user, sink, close })
      sockets.set(ws.id, ws)
      userSockets.add(user.userId, ws.id, close)
      metrics.sockets.inc()
    },
    async message(ws, raw) {
      const c = conns.get(ws.id)
      if (!c) return
      if (!(await tokens.isActive(c.user.userId).catch(() => true))) return c.close(CLOSE_REVOKED, REVOKED_REASON)
      const frame = parseFrame(raw)
      if (frame.type === 'error') {
        c.sink.write(frame)
        return
      }
      try {
        await handle(c, frame)
      } catch (err) {
        const e = unavailableFrom(err) ?? err
        if (!isScaleError(e)) logger.error({ err: e, frame: frame.type }, 'websocket frame failed')
        c.sink.write(errorFrame(e, frame as { jobId?: string; clientId?: string }))
      }
    },
    drain(ws) {
      conns.get(ws.id)?.sink.drained()
    },
    pong(ws, data) {
      conns.get(ws.id)?.sink.ponged(data)
    },
    close(ws) {
      const c = conns.get(ws.id)
      if (!c) return
      c.sink.closed()
      conns.delete(ws.id)
      sockets.delete(ws.id)
      userSockets.remove(c.user.userId, ws.id)
      metrics.sockets.dec()
    },
  }
  return route
}

function errorFrame(e: unknown, ref: { jobId?: string; clientId?: string }): ProtocolError {
  // A backing service out of reach mid-stream is UNAVAILABLE here too, as at the frame's start.
  const coded = isScaleError(e) ? e : unavailableFrom(e)
  const out: ProtocolError = coded
    ? { type: 'error', code: coded.code, message: coded.message }
    : { type: 'error', code: 'INTERNAL', message: 'internal error; the details are in the server log' }
  if (ref.jobId) out.jobId = ref.jobId
  if (ref.clientId) out.clientId = ref.clientId
  return out
}
