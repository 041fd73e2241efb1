/**
 * What the core asks of a runtime (Bun or Deno): serve the app, hash passwords, bundle the
 * console. `bun.ts` and `deno.ts` implement it; `index.ts` picks one.
 */
import type { AnyElysia } from 'elysia'
import type { SocketLimits, SocketRoute } from './socket.ts'

export interface ListenOptions {
  port: number
  hostname: string
  /** Bodies larger than this are refused with 413 (the app checks Content-Length first; the server counts chunked bodies). */
  maxRequestBodySize: number
  /** A WebSocket endpoint served before the app's routes, with these limits. */
  socket?: { route: SocketRoute<any>; limits: SocketLimits }
  /**
   * GET routes a runtime may serve itself, ahead of the app (exact path → handler), each
   * answering as the app's route of that path does; a runtime without a router of its own
   * leaves them to the app.
   */
  direct?: Record<string, (request: Request) => Response>
}

export interface Listening {
  port: number
  /** The peer address of a request this server received (before any proxy header). */
  clientAddress(request: Request): string | undefined
  /**
   * Stop accepting connections and close every WebSocket with 1012; with `graceful`, wait
   * for in-flight requests, without it cut them off.
   */
  stop(graceful: boolean): Promise<void>
}

/** One file of a browser bundle, held in memory. */
export interface BundledFile {
  /** File name, e.g. `app.js`, `app.css`. */
  name: string
  type: string
  body: string
}

export interface RuntimeAdapter {
  name: 'bun' | 'deno'
  /** Bundle a browser entry point (TypeScript, with its CSS imports) into memory; absent where the runtime has no bundler. */
  bundle?(entry: string): Promise<BundledFile[]>
  /** The runtime's own version, for logs and the README's table. */
  version: string
  listen(app: AnyElysia, opts: ListenOptions): Promise<Listening>
  hashPassword(password: string): Promise<string>
  verifyPassword(password: string, hash: string): Promise<boolean>
  /**
   * Collect garbage now, all of it. Called once after start-up work that leaves hundreds of
   * MiB behind (the embedded database's initdb), which a small JS heap would not trigger.
   */
  collectGarbage(): void
}
