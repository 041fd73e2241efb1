/**
 * The end-to-end suites on Deno: the HTTP API (accounts, conversations, body limit, SSE with
 * resume, sync, the gateway through the official SDK, client address) and the WebSocket
 * suite, against one runtime started as a user starts it, with `deno task start`.
 */
import { afterAll, expect } from 'bun:test'
import { apiSuite } from '../e2e/api-suite.ts'
import { E2E_CONFIG, wsSuite } from '../e2e/ws-suite.ts'
import type { Proc } from '../helpers/remote.ts'
import { describeWith } from '../helpers/services.ts'
import { denoMissing, startDenoApi, terminate } from './deno.ts'

const missing = await denoMissing()

describeWith('the end-to-end suites on Deno (deno task start) [deno]', missing, () => {
  let proc: Promise<Proc> | undefined
  // One process serves both suites (the config is the same); each suite's stop leaves it running.
  const shared = async () => ({ base: (await (proc ??= startDenoApi({ SCALE_CONFIG: E2E_CONFIG }))).base, stop: async () => {} })
  afterAll(async () => {
    expect(await terminate(await proc)).toBe(0)
  }, 60_000)

  apiSuite('deno', shared)
  wsSuite('deno', shared)
})
