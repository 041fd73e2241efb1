/** The acceptance suite (test/acceptance/suite.ts) against one embedded instance on Deno, started with `deno task start`. */
import { afterAll, beforeAll } from 'bun:test'
import { acceptanceSuite } from '../acceptance/suite.ts'
import type { Proc } from '../helpers/remote.ts'
import { describeWith } from '../helpers/services.ts'
import { denoMissing, startDenoApi, terminate } from './deno.ts'

describeWith('acceptance on Deno [deno]', await denoMissing(), () => {
  let api: Proc | undefined
  beforeAll(async () => {
    api = await startDenoApi({ DATA_DIR: 'memory://', JWT_SECRET: 'x'.repeat(48) })
  }, 180_000)
  afterAll(() => terminate(api), 60_000)

  acceptanceSuite('one embedded instance on Deno', () => ({ url: api!.base }))
})
