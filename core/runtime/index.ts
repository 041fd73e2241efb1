/**
 * The runtime boundary: the only place that touches `Bun.*` or `Deno.*`. Everything else
 * asks for a {@link RuntimeAdapter}.
 */
import type { RuntimeAdapter } from './adapter.ts'

declare const Deno: unknown

export async function detectRuntime(): Promise<RuntimeAdapter> {
  if (typeof Deno !== 'undefined') return (await import('./deno.ts')).denoRuntime
  return (await import('./bun.ts')).bunRuntime
}
