/**
 * Named statements on the embedded database. `PGlite.query` parses and plans its statement
 * on every call and crosses into the WebAssembly backend five times (parse, describe, bind,
 * describe, execute); here a statement is parsed and described once, then each call is one
 * crossing (bind, execute, sync) and the server reuses its plan. A chat turn's add-message
 * statement went from about 530 to 185 µs of CPU this way.
 *
 * The statement's row description is kept from its first describe and put in front of each
 * call's rows, so results are read by PGlite's own `parseResults` with the instance's
 * parsers, exactly as `query` reads them. Only what `query` does for Drizzle is covered: no
 * per-query serializers, parameter types or blobs (those calls go to `query`, as do
 * statements without parameters, as on PostgreSQL where postgres.js sends them unprepared).
 */
import { Buffer } from 'node:buffer'
import { parse, protocol, type PGlite, type Results } from '@electric-sql/pglite'
// The same bound as on PostgreSQL: a text that varies with its input would leave one statement per size.
import { PREPARED_MAX_PARAMS } from './postgres-pool.ts'
/** At most this many statements kept; later new ones run unprepared. */
const MAX_STATEMENTS = 500

type Message = Awaited<ReturnType<PGlite['execProtocol']>>['messages'][number]

interface Statement {
  name: string
  /** Parameter type OIDs, from the describe. */
  types: number[]
  /** The RowDescription message; undefined for a statement that returns no rows. */
  rows?: Message
}

/** What a call may ask and still be served here: what Drizzle passes (`rowMode`, and `parsers` once stripped). */
function plain(options: object | undefined): boolean {
  if (!options) return true
  for (const [k, v] of Object.entries(options)) if (v !== undefined && k !== 'rowMode') return false
  return true
}

export type PreparedQuery = (
  text: string,
  params: unknown[] | undefined,
  options: object | undefined,
  inTransaction: boolean,
) => Promise<Results> | undefined

/**
 * A query function for `pglite` that runs `text` as a named statement, or returns undefined
 * when the call is not one it serves (then the caller uses `query`). `inTransaction` says the
 * caller holds PGlite's transaction (so only its query lock is taken).
 */
export function preparedStatements(pglite: PGlite): PreparedQuery {
  const statements = new Map<string, Statement>()
  const { serialize } = protocol
  const db = pglite as PGlite & { parsers: Record<number, unknown>; serializers: Record<number, (v: unknown) => string> }

  async function describe(text: string): Promise<Statement> {
    const name = `s${statements.size + 1}`
    const { messages } = await pglite.execProtocol(
      Buffer.concat([serialize.parse({ name, text, types: [] }), serialize.describe({ type: 'S', name }), serialize.sync()]),
      { syncToFs: false },
    )
    const params = messages.find((m) => m.name === 'parameterDescription') as { dataTypeIDs: number[] } | undefined
    const st = { name, types: params?.dataTypeIDs ?? [], rows: messages.find((m) => m.name === 'rowDescription') }
    statements.set(text, st)
    return st
  }

  async function run(text: string, params: unknown[], options: object | undefined, inTransaction: boolean): Promise<Results> {
    const st = statements.get(text) ?? (await describe(text))
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null
      const serializer = db.serializers[st.types[i]!]
      return serializer ? serializer(v) : String(v)
    })
    const { messages } = await pglite.execProtocol(
      Buffer.concat([serialize.bind({ statement: st.name, values }), serialize.execute({}), serialize.sync()]),
      // As `query`: the files are synced after a statement, or at the end of its transaction.
      { syncToFs: !inTransaction },
    )
    const results = parse.parseResults(st.rows ? [st.rows, ...messages] : messages, db.parsers as never, options as never)
    return results[0] ?? { rows: [], fields: [], affectedRows: 0 }
  }

  return (text, params = [], options, inTransaction) => {
    // Without parameters (migrations, probes) there is little to save, and nothing to keep.
    if (params.length === 0 || params.length > PREPARED_MAX_PARAMS || !plain(options)) return undefined
    if (!statements.has(text) && statements.size >= MAX_STATEMENTS) return undefined
    const once = () => pglite._runExclusiveQuery(() => run(text, params, options, inTransaction))
    return inTransaction ? once() : pglite._runExclusiveTransaction(once)
  }
}
