/** A small line chart in SVG: one or two series over the last points, with the latest value as its label. */

const NS = 'http://www.w3.org/2000/svg'

export interface Series {
  label: string
  values: (number | null)[]
  unit: string
  className: string
}

export function lineChart(title: string, series: Series[], testId: string): HTMLElement {
  const width = 280
  const height = 70
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null))
  const max = Math.max(1e-9, ...all) * 1.1
  const svg = document.createElementNS(NS, 'svg')
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('class', 'chart')
  svg.setAttribute('role', 'img')
  svg.setAttribute('aria-label', title)
  for (const s of series) {
    const n = s.values.length
    const points = s.values
      .map((v, i) => (v === null ? null : `${((i / Math.max(1, n - 1)) * width).toFixed(1)},${(height - (v / max) * height).toFixed(1)}`))
      .filter(Boolean)
      .join(' ')
    const line = document.createElementNS(NS, 'polyline')
    line.setAttribute('points', points)
    line.setAttribute('class', s.className)
    svg.append(line)
  }
  const figure = document.createElement('figure')
  figure.dataset.testid = testId
  const caption = document.createElement('figcaption')
  caption.textContent = `${title}: ${series.map((s) => `${s.label} ${latest(s.values)}${s.unit}`).join(', ')}`
  figure.append(caption, svg)
  return figure
}

function latest(values: (number | null)[]): string {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return String(values[i])
  return '-'
}
