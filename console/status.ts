/** The status view: `GET /v1/admin/status` every few seconds, as tables and small live charts. */
import { ApiError, api, h } from './api.ts'
import { lineChart } from './chart.ts'

const REFRESH_MS = 3000

interface SlotStatus {
  slot: string
  backend: string
  kind: 'default' | 'plugin'
  version: string | null
  stats: Record<string, unknown> | null
  health: string | null
}

interface Status {
  version: string
  uptimeSeconds: number
  status: string
  checks: Record<string, string>
  instances: { live: number | null; configured: number; embedded: boolean }
  slots: SlotStatus[]
  plugins: { name: string; version: string | null; provides: string[] }[]
  requests: { total: number; series: { at: number; rps: number; p50: number | null; p99: number | null }[] }
  rateLimited: Record<string, number>
}

export function statusView(root: HTMLElement, needLogin: () => void) {
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false

  async function refresh() {
    try {
      render(await api<Status>('GET', '/v1/admin/status'))
    } catch (e) {
      const err = e as ApiError
      if (err.status === 401) return needLogin()
      if (err.status === 403) {
        root.replaceChildren(h('h2', {}, 'Status'), h('p', { class: 'error', 'data-testid': 'forbidden' }, `403 Forbidden: ${err.message}`))
        return // no point asking again
      }
      root.replaceChildren(h('p', { class: 'error' }, `${err.code ?? 'ERROR'}: ${err.message}`))
    }
    if (running) timer = setTimeout(refresh, REFRESH_MS)
  }

  function render(s: Status) {
    const series = s.requests.series
    const instances = s.instances.embedded
      ? '1, embedded'
      : s.instances.live === null
        ? `${s.instances.configured} configured`
        : `${s.instances.live} live`
    root.replaceChildren(
      h('h2', {}, 'Status'),
      h(
        'div',
        { class: 'cards' },
        card('Runtime', `${s.status} · v${s.version} · up ${duration(s.uptimeSeconds)}`, 'runtime'),
        card('Instances', instances, 'instances'),
        card('Requests', String(s.requests.total), 'requests-total'),
        card('Rate-limit refusals', entries(s.rateLimited) || 'none', 'rate-limited'),
      ),
      h(
        'div',
        { class: 'charts' },
        lineChart('Requests per second', [{ label: 'req/s', values: series.map((p) => p.rps), unit: '', className: 'a' }], 'chart-rps'),
        lineChart(
          'Latency',
          [
            { label: 'p50', values: series.map((p) => p.p50), unit: ' ms', className: 'a' },
            { label: 'p99', values: series.map((p) => p.p99), unit: ' ms', className: 'b' },
          ],
          'chart-latency',
        ),
      ),
      h('h3', {}, 'Slots'),
      table(
        ['slot', 'backend', 'version', 'health', 'figures'],
        s.slots.map((slot) =>
          h(
            'tr',
            { 'data-testid': `slot-${slot.slot}` },
            h('td', {}, slot.slot),
            h('td', { 'data-testid': `backend-${slot.slot}` }, slot.kind === 'default' ? 'default' : slot.backend),
            h('td', {}, slot.version ?? '-'),
            h('td', {}, slot.health ?? '-'),
            h('td', {}, figures(slot.stats)),
          ),
        ),
      ),
      h('h3', {}, 'Checks'),
      table(
        ['check', 'result'],
        Object.entries(s.checks).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { class: v.startsWith('ok') ? 'ok' : 'warn' }, v))),
      ),
    )
  }

  return {
    start() {
      running = true
      root.replaceChildren(h('p', {}, 'Loading…'))
      void refresh()
    },
    stop() {
      running = false
      clearTimeout(timer)
    },
  }
}

const card = (title: string, value: string, testId: string) =>
  h('div', { class: 'card' }, h('div', { class: 'label' }, title), h('div', { class: 'value', 'data-testid': testId }, value))

const table = (head: string[], rows: HTMLElement[]) =>
  h('table', {}, h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))), h('tbody', {}, ...rows))

const entries = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')

/** A backend's own figures, flattened (`byKind.user.hits 3`), with a hit rate wherever hits and misses sit together. */
function figures(stats: Record<string, unknown> | null): string {
  if (!stats) return '-'
  const out: string[] = []
  const walk = (o: Record<string, unknown>, prefix: string) => {
    if (typeof o.hits === 'number' && typeof o.misses === 'number' && o.hits + o.misses > 0) {
      out.push(`${prefix}hit rate ${Math.round((o.hits / (o.hits + o.misses)) * 100)}%`)
    }
    for (const [k, v] of Object.entries(o)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`)
      else out.push(`${prefix}${k} ${Array.isArray(v) ? v.join('/') : String(v)}`)
    }
  }
  walk(stats, '')
  return out.join(', ')
}

function duration(s: number): string {
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}
