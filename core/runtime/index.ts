/**
 * The runtime boundary: the only place that touches `Bun.*` or `Deno.*`. Everything else
 * asks for a {@link RuntimeAdapter}.
 */
import type { AnyElysia } from 'elysia'

export interface ListenOptions {
  port: number
  hostname: string
  /** Bodies larger than this are refused by the server itself (the app checks Content-Length first). */
  maxRequestBodySize: number
}

export interface Listening {
  port: number
  /** Stop accepting connections; with `graceful`, wait for in-flight requests. */
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
  listen(app: AnyElysia, opts: ListenOptions): Promise<Listening>
  hashPassword(password: string): Promise<string>
  verifyPassword(password: string, hash: string): Promise<boolean>
}

declare const Deno: unknown

export async function detectRuntime(): Promise<RuntimeAdapter> {
  if (typeof Deno !== 'undefined') return (await import('./deno.ts')).denoRuntime
  return (await import('./bun.ts')).bunRuntime
}
