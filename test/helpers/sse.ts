/** Reads an SSE response into its events (for job streams: `id: <seq>` + `data: <json>`). */
export interface SseEvent<T = any> {
  id?: string
  data: T
}

export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = []
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l && !l.startsWith(':'))
    if (!lines.length) continue
    const id = lines.find((l) => l.startsWith('id: '))?.slice(4)
    const data = lines
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .join('\n')
    if (data) out.push({ id, data: JSON.parse(data) })
  }
  return out
}

/** Read events until `stop` says so (or the stream ends), then cancel the response body. */
export async function readSse(res: Response, stop: (events: SseEvent[]) => boolean = () => false): Promise<SseEvent[]> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let events: SseEvent[] = []
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
    const complete = text.slice(0, text.lastIndexOf('\n\n') + 2)
    events = parseSse(complete)
    if (stop(events)) {
      await reader.cancel()
      break
    }
  }
  return parseSse(text.slice(0, text.lastIndexOf('\n\n') + 2))
}
