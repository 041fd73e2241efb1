/**
 * The chat load generator: its own Bun process (pinned to the load core by `bench/chat/bench.ts`),
 * so the server's CPU and RSS are the server's alone. Takes a spec as JSON in argv[2] and
 * prints newline-delimited JSON to stdout: `{"mark": "<phase>"}` at phase boundaries (the
 * parent reads the server's CPU time and RSS there) and, last, `{"result": {...}}`.
 * Progress goes to stderr.
 *
 * Every reply is checked, not only timed: its events must come with seq 1, 2, 3... (no gap, no
 * duplicate), end with `done`, and their text must be exactly the fake provider's reply to
 * that turn's message (each turn sends a different message, so an event delivered to the
 * wrong stream shows too). Anything else counts as an error.
 */
import { fakeReplyWords } from '../../core/llm/fake.ts'

export interface LatencySpec {
  mode: 'latency'
  base: string
  token: string
  /** Measured turns per transport (split over the rounds). */
  turns: number
  /** Clients per transport, each running one turn at a time. */
  clients: number
  /** Turns per transport before the first round, not counted. */
  warmup: number
  /** Rounds; the order of the transports is reversed every other round. */
  rounds: number
  turnTimeoutMs: number
  maxTokens: number
}

export interface StreamsSpec {
  mode: 'streams'
  base: string
  token: string
  streams: number
  /** Sockets the streams are spread over (streams / sockets conversations each). */
  sockets: number
  /** Bursts of `streams` replies, one after the other on the same sockets (the first on a fresh process). */
  bursts: number
  /** Sockets opening at once. */
  openConcurrency: number
  /** From the first `send` frame: streams not done by then count as errors. */
  deadlineMs: number
  maxTokens: number
}

export type Spec = LatencySpec | StreamsSpec

/** One turn's timings in ms from the `send` frame / the POST; undefined when it did not get there. */
export interface TurnTiming {
  acceptMs?: number
  firstMs?: number
  doneMs?: number
}

export interface ErrorTally {
  count: number
  /** The first few, verbatim. */
  examples: string[]
}

export interface LatencyOutput {
  mode: 'latency'
  ws: { timings: TurnTiming[]; events: number; errors: ErrorTally }
  sse: { timings: TurnTiming[]; events: number; errors: ErrorTally }
}

export interface BurstOutput {
  /** From the first `send` frame to the last `done` (or the deadline), ms. */
  runMs: number
  /** Streams that ended with `done` and passed every check. */
  completed: number
  /** delta + done events received (all streams, checked or not). */
  events: number
  /** Events received in each second of the burst. */
  perSecond: number[]
  timings: TurnTiming[]
  errors: ErrorTally
}

export interface StreamsOutput {
  mode: 'streams'
  streams: number
  sockets: number
  /** Time to open every socket, ms. */
  openMs: number
  bursts: BurstOutput[]
  /** Frames no stream could be matched to (protocol errors, unknown jobs). */
  errors: ErrorTally
  /** Sockets closed by the server, or failing, before all their streams were done. */
  unexpectedCloses: number
}

const now = () => performance.now()
/**
 * A `clientId` is also the send's idempotency key: one reused (another run, same user) would
 * replay the first reply instead of generating one, which is far cheaper. Unique per run.
 */
const RUN = crypto.randomUUID().slice(0, 8)
/** Job ids seen in this run: a repeat means a reply was replayed, not generated. */
const jobs = new Set<string>()
const emit = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)
const progress = (line: string) => process.stderr.write(`    ${line}\n`)

function tally(): ErrorTally & { add(e: string): void } {
  return {
    count: 0,
    examples: [],
    add(e) {
      this.count++
      if (this.examples.length < 5) this.examples.push(e)
    },
  }
}

/** The fake provider's reply to a fresh conversation whose only message is `content`. */
const expectedReply = (content: string, maxTokens: number) =>
  fakeReplyWords({ messages: [{ role: 'user', content }], maxTokens })
    .slice(0, maxTokens)
    .join(' ')

/** One reply being received: times, seq and text checks, one promise that settles when it ends. */
class Turn {
  t0 = 0
  tAccepted?: number
  tFirst?: number
  tDone?: number
  jobId?: string
  events = 0
  error?: string
  private nextSeq = 1
  private text = ''
  private settle!: () => void
  readonly ended = new Promise<void>((r) => (this.settle = r))
  private finished = false
  private timer?: ReturnType<typeof setTimeout>

  constructor(
    readonly conversationId: string,
    readonly content: string,
    readonly clientId: string,
    private readonly expected: string,
    private readonly onEvent?: () => void,
  ) {}

  start(timeoutMs: number) {
    this.t0 = now()
    this.timer = setTimeout(() => this.fail(`no done within ${timeoutMs} ms (${this.events} events so far)`), timeoutMs)
  }

  accepted(jobId?: string) {
    if (this.tAccepted !== undefined) return
    this.tAccepted = now()
    this.jobId = jobId
    if (!jobId) return this.fail('accepted without a job id')
    if (jobs.has(jobId)) return this.fail(`job ${jobId} accepted twice: a replay, not a new reply`)
    jobs.add(jobId)
  }

  event(ev: { type: string; seq?: number; text?: string; code?: string; message?: string }) {
    if (this.finished) return
    if (ev.type !== 'delta' && ev.type !== 'done' && ev.type !== 'error') return this.fail(`unexpected event ${JSON.stringify(ev)}`)
    if (ev.seq !== this.nextSeq) return this.fail(`seq ${ev.seq} where ${this.nextSeq} was next (${ev.type})`)
    this.nextSeq++
    this.events++
    this.onEvent?.()
    if (ev.type === 'error') return this.fail(`job error ${ev.code}: ${ev.message}`)
    if (ev.type === 'delta') {
      this.tFirst ??= now()
      this.text += ev.text ?? ''
      return
    }
    if (this.text !== this.expected) return this.fail(`reply text ${JSON.stringify(this.text)}; expected ${JSON.stringify(this.expected)}`)
    this.tDone = now()
    this.end()
  }

  fail(why: string) {
    if (this.finished) return
    this.error = why
    this.end()
  }

  private end() {
    this.finished = true
    clearTimeout(this.timer)
    this.settle()
  }

  get done() {
    return this.finished
  }

  timing(): TurnTiming {
    const ms = (t?: number) => (t === undefined ? undefined : t - this.t0)
    return { acceptMs: ms(this.tAccepted), firstMs: ms(this.tFirst), doneMs: this.error ? undefined : ms(this.tDone) }
  }
}

/** One client WebSocket, routing frames to its turns by clientId, then by jobId. */
class ChatSocket {
  private byClient = new Map<string, Turn>()
  private byJob = new Map<string, Turn>()
  closedEarly?: string
  private constructor(
    private ws: WebSocket,
    private readonly errors: ReturnType<typeof tally>,
  ) {
    ws.onmessage = (m) => this.frame(JSON.parse(String(m.data)))
    ws.onclose = (e) => {
      const pending = [...this.byClient.values()].filter((t) => !t.done)
      if (pending.length) this.closedEarly = `socket closed with ${e.code} ${e.reason} while ${pending.length} replies were open`
      for (const t of pending) t.fail(this.closedEarly!)
    }
  }

  static open(url: string, errors: ReturnType<typeof tally>, timeoutMs: number): Promise<ChatSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url)
      const timer = setTimeout(() => {
        ws.close()
        reject(new Error(`the socket did not open within ${timeoutMs} ms`))
      }, timeoutMs)
      ws.onopen = () => {
        clearTimeout(timer)
        resolve(new ChatSocket(ws, errors))
      }
      ws.onerror = () => {
        clearTimeout(timer)
        reject(new Error('the socket failed to open'))
      }
    })
  }

  send(turn: Turn, timeoutMs: number) {
    this.byClient.set(turn.clientId, turn)
    turn.start(timeoutMs)
    this.ws.send(JSON.stringify({ type: 'send', conversationId: turn.conversationId, content: turn.content, clientId: turn.clientId }))
  }

  /** Forget a finished turn (the latency clients reuse a socket for hundreds). */
  forget(turn: Turn) {
    this.byClient.delete(turn.clientId)
    if (turn.jobId) this.byJob.delete(turn.jobId)
  }

  forgetDone() {
    for (const t of [...this.byClient.values()]) if (t.done) this.forget(t)
  }

  private frame(f: { type: string; clientId?: string; jobId?: string; seq?: number; code?: string; message?: string }) {
    switch (f.type) {
      case 'accepted': {
        const turn = this.byClient.get(f.clientId!)
        if (!turn) return this.errors.add(`accepted for unknown clientId ${f.clientId}`)
        turn.accepted(f.jobId)
        this.byJob.set(f.jobId!, turn)
        return
      }
      case 'delta':
      case 'done': {
        const turn = this.byJob.get(f.jobId!)
        if (!turn) return this.errors.add(`${f.type} for unknown job ${f.jobId}`)
        return turn.event(f)
      }
      case 'error': {
        // A job's error event has jobId and seq; a protocol error has neither (maybe a clientId).
        const turn = (f.jobId && this.byJob.get(f.jobId)) || (f.clientId && this.byClient.get(f.clientId))
        if (turn && f.seq !== undefined) return turn.event(f)
        if (turn) return turn.fail(`error frame ${f.code}: ${f.message}`)
        return this.errors.add(`error frame ${f.code}: ${f.message}`)
      }
      case 'rate_limited': {
        const turn = this.byClient.get(f.clientId!)
        if (turn) return turn.fail(`rate_limited ${JSON.stringify(f)}`)
        return this.errors.add(`rate_limited ${JSON.stringify(f)}`)
      }
      case 'pong':
        return
      default:
        this.errors.add(`unexpected frame ${JSON.stringify(f).slice(0, 200)}`)
    }
  }

  close() {
    this.ws.close(1000, 'bench done')
  }
}

async function createConversations(base: string, token: string, n: number, width = 8): Promise<string[]> {
  const ids: string[] = []
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      const res = await fetch(`${base}/v1/conversations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `bench ${i + 1}` }),
        signal: AbortSignal.timeout(30_000),
      })
      const body = (await res.json()) as { id?: string }
      if (res.status !== 201 || !body.id) throw new Error(`creating a conversation answered ${res.status}: ${JSON.stringify(body)}`)
      ids[i] = body.id
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker))
  return ids
}

/** One turn over HTTP: POST with Accept: text/event-stream, read the SSE body to the end. */
async function sseTurn(base: string, token: string, turn: Turn, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  turn.start(timeoutMs)
  try {
    const res = await fetch(`${base}/v1/conversations/${turn.conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ content: turn.content }),
      signal,
    })
    if (res.status !== 200 || !res.body) {
      turn.fail(`POST answered ${res.status}: ${(await res.text()).slice(0, 200)}`)
      return
    }
    turn.accepted(res.headers.get('x-job-id') ?? undefined)
    const decoder = new TextDecoder()
    let buffer = ''
    // Read to the end (the server closes right after `done`), so the connection is reused.
    const reader = res.body.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      buffer += decoder.decode(r.value, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const data = block.split('\n').find((l) => l.startsWith('data: '))
        if (data) turn.event(JSON.parse(data.slice(6)))
      }
    }
    if (!turn.done) turn.fail(`the stream ended after ${turn.events} events without done`)
  } catch (e) {
    turn.fail(`POST failed: ${(e as Error).message}`)
  }
}

async function latency(spec: LatencySpec): Promise<LatencyOutput> {
  const { base, token, clients, rounds, turnTimeoutMs, maxTokens } = spec
  const perRound = Math.max(1, Math.ceil(spec.turns / rounds))
  const need = 2 * (spec.warmup + perRound * rounds)
  progress(`creating ${need} conversations (one per turn)`)
  const convs = await createConversations(base, token, need)
  let used = 0
  let serial = 0
  const out: LatencyOutput = {
    mode: 'latency',
    ws: { timings: [], events: 0, errors: tally() },
    sse: { timings: [], events: 0, errors: tally() },
  }
  const errs = { ws: out.ws.errors as ReturnType<typeof tally>, sse: out.sse.errors as ReturnType<typeof tally> }
  const wsUrl = `${base.replace(/^http/, 'ws')}/v1/ws?token=${encodeURIComponent(token)}`
  const sockets = await Promise.all(Array.from({ length: clients }, () => ChatSocket.open(wsUrl, errs.ws, 10_000)))

  const newTurn = () => {
    const n = ++serial
    const content = `turn ${n}: hello, how are you today?`
    return new Turn(convs[used++]!, content, `${RUN}-c${n}`, expectedReply(content, maxTokens))
  }

  /** `count` turns over `transport` with `clients` at a time; timings kept unless warming up. */
  const batch = async (transport: 'ws' | 'sse', count: number, keep: boolean) => {
    let left = count
    const client = async (i: number) => {
      while (left > 0) {
        left--
        const turn = newTurn()
        if (transport === 'ws') {
          sockets[i]!.send(turn, turnTimeoutMs)
          await turn.ended
          sockets[i]!.forget(turn)
        } else {
          await sseTurn(base, token, turn, turnTimeoutMs)
        }
        if (turn.error) errs[transport].add(turn.error)
        if (keep) {
          out[transport].timings.push(turn.timing())
          out[transport].events += turn.events
        }
      }
    }
    await Promise.all(Array.from({ length: clients }, (_, i) => client(i)))
  }

  progress(`warm-up: ${spec.warmup} turns per transport`)
  await batch('ws', spec.warmup, false)
  await batch('sse', spec.warmup, false)
  // Warm-up errors count too: the run must be clean throughout.
  for (let r = 0; r < rounds; r++) {
    const order: ('ws' | 'sse')[] = r % 2 === 0 ? ['ws', 'sse'] : ['sse', 'ws']
    for (const t of order) {
      emit({ mark: `${t}:start` })
      const t0 = now()
      await batch(t, perRound, true)
      emit({ mark: `${t}:end` })
      progress(`round ${r + 1}/${rounds} ${t}: ${perRound} turns in ${Math.round(now() - t0)} ms, ${errs[t].count} errors so far`)
    }
  }
  for (const s of sockets) {
    if (s.closedEarly) errs.ws.add(s.closedEarly)
    s.close()
  }
  return out
}

async function streams(spec: StreamsSpec): Promise<StreamsOutput> {
  const { base, token, maxTokens } = spec
  const sockets = Math.max(1, Math.min(spec.sockets, spec.streams))
  progress(`creating ${spec.streams * spec.bursts} conversations`)
  const convs = await createConversations(base, token, spec.streams * spec.bursts)
  const socketErrors = tally()
  emit({ mark: 'open:start' })
  const t0 = now()
  const wsUrl = `${base.replace(/^http/, 'ws')}/v1/ws?token=${encodeURIComponent(token)}`
  const open: ChatSocket[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(spec.openConcurrency, sockets) }, async () => {
      while (next < sockets) {
        next++
        open.push(await ChatSocket.open(wsUrl, socketErrors, 15_000))
      }
    }),
  )
  const openMs = now() - t0
  emit({ mark: 'open:end' })
  progress(`${sockets} sockets open in ${Math.round(openMs)} ms`)

  const bursts: BurstOutput[] = []
  for (let b = 0; b < spec.bursts; b++) {
    if (b > 0) await new Promise((r) => setTimeout(r, 1000))
    let events = 0
    let startedAt = 0
    const perSecond: number[] = []
    const count = () => {
      events++
      const sec = Math.floor((now() - startedAt) / 1000)
      perSecond[sec] = (perSecond[sec] ?? 0) + 1
    }
    const turns = convs.slice(b * spec.streams, (b + 1) * spec.streams).map((c, i) => {
      const content = `burst ${b + 1} stream ${i + 1}: hello, how are you today?`
      return new Turn(c, content, `${RUN}-b${b + 1}s${i + 1}`, expectedReply(content, maxTokens), count)
    })
    emit({ mark: 'streams:start' })
    startedAt = now()
    // Every send frame at once: stream i goes to socket i % sockets.
    turns.forEach((t, i) => open[i % sockets]!.send(t, spec.deadlineMs))
    await Promise.all(turns.map((t) => t.ended))
    const runMs = Math.max(...turns.map((t) => (t.tDone ?? now()) - startedAt))
    emit({ mark: 'streams:end' })
    const errors = tally()
    for (const t of turns) if (t.error) errors.add(t.error)
    for (const s of open) s.forgetDone()
    bursts.push({
      runMs,
      completed: turns.filter((t) => !t.error && t.tDone !== undefined).length,
      events,
      perSecond: Array.from(perSecond, (n) => n ?? 0),
      timings: turns.map((t) => t.timing()),
      errors,
    })
    progress(`burst ${b + 1}/${spec.bursts}: ${turns.length} streams done in ${Math.round(runMs)} ms, ${errors.count} errors`)
  }
  const unexpectedCloses = open.filter((s) => s.closedEarly).length
  for (const s of open) s.close()
  return { mode: 'streams', streams: spec.streams, sockets, openMs, bursts, errors: socketErrors, unexpectedCloses }
}

async function main() {
  const spec = JSON.parse(process.argv[2] ?? '') as Spec
  const result = spec.mode === 'latency' ? await latency(spec) : await streams(spec)
  // (JSON leaves out a tally's add().)
  emit({ result })
  // Let the closes go out, then leave even if a socket lingers.
  setTimeout(() => process.exit(0), 200)
}

if (import.meta.main)
  await main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`)
    process.exit(1)
  })
