/** The shape of a bench scenario and its stacks; the scenarios themselves are listed in scenarios.ts. */
import type { BenchDatabase } from './postgres.ts'

/** `reference`: another baseline, shown in the table only. */
export type Role = 'runtime' | 'variant' | 'elysia' | 'fastify' | 'reference'

/** What a scenario's setup made, shared by its stacks (a database, the seeded user). */
export interface Context {
  db?: BenchDatabase
  userId?: string
  /** The seeded user's bearer header, for stacks that load the same user's data. */
  headers?: Record<string, string>
  /** A streaming replica of `db` (the replica scenario). */
  replicaUrl?: string
}

export interface StackSpec {
  id: string
  label: string
  role: Role
  argv: string[]
  env?: (ctx: Context) => Record<string, string>
  /** Answered (any status) once the server listens. */
  readyPath: string
  /** Runs once the server answers; returns the request headers for the load (a token). */
  prepare?: (base: string, ctx: Context) => Promise<Record<string, string>>
  /** Started after the others, because it needs what their `prepare` left in the context. */
  late?: boolean
  /** For variants: the hook that is off, as shown in the hook cost table. */
  hookOff?: string
  /**
   * The status this stack must answer (pre-flight), 200 when unset. With a 3xx, the body is
   * not compared, and the load generator's non-2xx count is not an error count (wrk lumps
   * 3xx with errors): the pre-flight and a check after the load stand for it.
   */
  status?: number
}

export interface Target {
  /** The lowest acceptable ratio of the runtime's req/s to bare Elysia's. */
  min: number
  text: string
}

export interface Scenario {
  name: string
  title: string
  path: string
  target: Target
  /** Why the scenario cannot run here, or undefined when it can. */
  unavailable?: () => Promise<string | undefined>
  setup?: () => Promise<Context>
  teardown?: (ctx: Context) => Promise<void>
  stacks: StackSpec[]
  /** Left out of a plain `npm run bench` (it runs when named), to keep the default run short. */
  namedOnly?: boolean
  /** What the `role: 'elysia'` stack is, for the report's ratio column. @default 'bare Elysia' */
  baseline?: string
}
