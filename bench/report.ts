/** Turns scenario results into the Markdown report: the machine, the tables, the targets and what each hook costs. */
import type { BenchOptions, ScenarioResult } from './harness.ts'

export interface Meta {
  date: string
  cpu: string
  cores: number
  pinned: boolean
  versions: Record<string, string>
}

/** A load generator above this share of its core may be what limits the server's number. */
const LOAD_SATURATED = 0.9
/** Spread of req/s over the rounds above which a run is called noisy. */
const NOISY = 0.25

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? '—' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}x` : '—')
const usPerReq = (rps: number) => 1e6 / rps

export function hasErrors(results: ScenarioResult[]): boolean {
  return results.some((r) => r.rows.some((row) => row.non2xx + row.socketErrors > 0))
}

function table(r: ScenarioResult): string {
  const bare = r.rows.find((x) => x.spec.role === 'elysia')
  const fastify = r.rows.find((x) => x.spec.role === 'fastify')
  const lines = [
    `| stack | req/s | p50 ms | p99 ms | vs ${r.scenario.baseline ?? 'bare Elysia'} | vs Fastify | RSS MiB | CPU µs/req | non-2xx | socket errors | spread |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ]
  for (const row of r.rows) {
    const flag = (n: number) => (n > 0 ? `⚠ ${fmt(n)}` : '0')
    const saturated = (row.loadCpu ?? 0) > LOAD_SATURATED ? ' †' : ''
    lines.push(
      `| ${row.spec.label} | ${fmt(row.rps)}${saturated} | ${fmt(row.p50Ms, 2)} | ${fmt(row.p99Ms, 2)} | ${row === bare ? '1.00x' : ratio(row.rps, bare?.rps)} | ${row === fastify ? '1.00x' : ratio(row.rps, fastify?.rps)} | ${fmt(row.rssMiB)} | ${fmt(row.cpuUsPerReq, 1)} | ${flag(row.non2xx)} | ${flag(row.socketErrors)} | ${fmt(row.spread * 100)}% |`,
    )
  }
  return lines.join('\n')
}

/** What each hook costs: per request, from the req/s with it off, and from the server's CPU time. */
function hookCosts(r: ScenarioResult): string | undefined {
  const base = r.rows.find((x) => x.spec.role === 'runtime')
  const variants = r.rows.filter((x) => x.spec.role === 'variant')
  const bare = r.rows.find((x) => x.spec.role === 'elysia')
  if (!base || !variants.length) return undefined
  const lines = [
    `The default runtime spends ${fmt(usPerReq(base.rps), 1)} µs of wall time per request on its core${bare ? ` (bare Elysia: ${fmt(usPerReq(bare.rps), 1)} µs)` : ''}. Turning one hook off gives back:`,
    '',
    '| turned off | req/s | vs default | cost µs/req (req/s) | share of default | cost µs/req (server CPU) |',
    '|---|--:|--:|--:|--:|--:|',
  ]
  for (const v of variants) {
    const cost = usPerReq(base.rps) - usPerReq(v.rps)
    const cpu = base.cpuUsPerReq !== undefined && v.cpuUsPerReq !== undefined ? base.cpuUsPerReq - v.cpuUsPerReq : undefined
    lines.push(
      `| ${v.spec.hookOff ?? v.spec.label} | ${fmt(v.rps)} | ${ratio(v.rps, base.rps)} | ${fmt(cost, 1)} | ${fmt((cost / usPerReq(base.rps)) * 100)}% | ${fmt(cpu, 1)} |`,
    )
  }
  lines.push(
    '',
    'A negative cost means the runtime was slower with it off: for the token cache that is what the cache saves (jose verifies every request without it); for the others it is noise.',
  )
  return lines.join('\n')
}

/** The second references, by stack id, with how the report names the comparison. */
const REFERENCES: [string, string][] = [
  ['elysia-request-id', 'Against bare Elysia that also sets the X-Request-Id every runtime answer carries (the second reference)'],
  [
    'elysia-same-work',
    "Against bare Elysia doing the pipeline route's work by hand (request id, token lookup, limiter and its headers, access log, metrics)",
  ],
]

function targets(results: ScenarioResult[]): string {
  const lines = [
    '| scenario | target | runtime / bare Elysia, req/s | met by req/s | same by server CPU µs/req | met by CPU |',
    '|---|---|--:|:-:|--:|:-:|',
  ]
  for (const r of results) {
    const base = r.rows.find((x) => x.spec.role === 'runtime')
    const bare = r.rows.find((x) => x.spec.role === 'elysia')
    if (r.skipped || !base || !bare) {
      lines.push(`| ${r.scenario.name} | ${r.scenario.target.text} | — | skipped | — | skipped |`)
      continue
    }
    const min = r.scenario.target.min
    const errors = base.non2xx + base.socketErrors + bare.non2xx + bare.socketErrors
    const met = (x: number | undefined) => (x === undefined ? '—' : errors ? '⚠ errors' : x >= min ? 'yes' : 'no')
    const byRps = base.rps / bare.rps
    const byCpu = base.cpuUsPerReq && bare.cpuUsPerReq ? bare.cpuUsPerReq / base.cpuUsPerReq : undefined
    lines.push(
      `| ${r.scenario.name} | ${r.scenario.target.text} | ${byRps.toFixed(2)}x | ${met(byRps)} | ${byCpu === undefined ? '—' : `${byCpu.toFixed(2)}x`} | ${met(byCpu)} |`,
    )
  }
  lines.push('', 'Where the two disagree, the run was noisy (see the spread column); the CPU ratio is the steadier one.')
  // The runtime against each reference of a scenario: what the API's own work costs on Elysia, and what the runtime adds to it.
  for (const [id, text] of REFERENCES) {
    const ratios = results.flatMap((r) => {
      const base = r.rows.find((x) => x.spec.role === 'runtime')
      const ref = r.rows.find((x) => x.spec.id === id)
      if (!base?.cpuUsPerReq || !ref?.cpuUsPerReq) return []
      const bare = r.rows.find((x) => x.spec.role === 'elysia')
      const refVsBare = bare?.cpuUsPerReq ? `; the reference itself ${(bare.cpuUsPerReq / ref.cpuUsPerReq).toFixed(2)}x bare Elysia` : ''
      return [
        `${r.scenario.name} ${(ref.cpuUsPerReq / base.cpuUsPerReq).toFixed(2)}x (by req/s ${(base.rps / ref.rps).toFixed(2)}x)${refVsBare}`,
      ]
    })
    if (ratios.length) lines.push('', `${text}, by server CPU: ${ratios.join('; ')}.`)
  }
  return lines.join('\n')
}

export function renderReport(results: ScenarioResult[], o: BenchOptions, meta: Meta): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    `${meta.date}, ${meta.cpu}, ${meta.cores} cores. ${meta.pinned ? 'Server pinned to core 0, load generator to core 1 (taskset).' : 'Not pinned (fewer than 2 cores or no taskset): server and load generator share the CPU.'}`,
    '',
    `Versions: ${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    `Load: ${o.tool}, ${o.connections} connections, ${o.warmup} s warm-up (then ${o.rewarm} s before each later round), ${o.duration} s per measurement, ${o.rounds} round${o.rounds === 1 ? '' : 's'} with the order reversed every other round; medians shown. Produced by \`npm run bench\`; see bench/README.md for how to read it.`,
  ]
  if (hasErrors(results)) out.push('', '**⚠ This run had errors (non-2xx responses or socket errors): its numbers are not comparable.**')
  const noisy = results.flatMap((r) => r.rows).filter((x) => x.spread > NOISY)
  if (noisy.length) {
    out.push(
      '',
      `**Noisy run**: req/s moved by more than ${NOISY * 100}% between rounds for ${noisy.length} of the stacks, so other work shared the cores. ` +
        'A starved fast server loses more req/s than a slow one, which pulls req/s ratios towards 1; the ratio by server CPU µs/req is the steadier estimate of what one core delivers.',
    )
  }
  for (const r of results) {
    out.push('', `## ${r.scenario.title}`, '')
    if (r.skipped) {
      out.push(`Skipped: ${r.skipped}.`)
      continue
    }
    out.push(table(r))
    const logs = r.rows
      .filter((x) => x.spec.role === 'runtime' || x.spec.role === 'variant')
      .map((x) => `${x.spec.label} ${fmt(x.stdoutBytes / 1048576, 1)} MiB`)
    if (logs.length) out.push('', `Written to stdout (the access log) over the whole run: ${logs.join(', ')}.`)
    const saturated = r.rows.filter((x) => (x.loadCpu ?? 0) > LOAD_SATURATED)
    if (saturated.length)
      out.push(
        '',
        `† the load generator used over ${LOAD_SATURATED * 100}% of its core here: the server may be faster than shown, and its ratio understated.`,
      )
    const hooks = hookCosts(r)
    if (hooks) out.push('', '### What each hook costs', '', hooks)
  }
  out.push('', '## Targets', '', targets(results), '')
  return out.join('\n')
}
