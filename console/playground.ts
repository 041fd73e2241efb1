/**
 * The playground: pick or create a conversation, send a message, and watch the reply
 * stream over the WebSocket (`/v1/ws`), with its job id, `seq` and token usage; cancel it.
 */
import { ApiError, api, h, session } from './api.ts'

interface Conversation {
  id: string
  title: string
  updatedAt: string
}
interface Message {
  id: string
  role: 'user' | 'assistant'
  content: string
}

export function playgroundView(root: HTMLElement, needLogin: () => void) {
  let ws: WebSocket | undefined
  let selected: string | undefined
  let job: string | undefined

  const list = h('ul', { class: 'conversations', 'data-testid': 'conversations' })
  const title = h('input', { placeholder: 'title', 'data-testid': 'conversation-title' })
  const messages = h('div', { class: 'messages', 'data-testid': 'messages' })
  const input = h('textarea', { rows: '3', placeholder: 'Say something', 'data-testid': 'message-input' })
  const send = h('button', { 'data-testid': 'send', disabled: true }, 'Send')
  const cancel = h('button', { 'data-testid': 'cancel', disabled: true }, 'Cancel')
  const reply = h('div', { class: 'reply', 'data-testid': 'reply' })
  const meta = {
    state: h('span', { 'data-testid': 'stream-state' }, 'idle'),
    job: h('code', { 'data-testid': 'job-id' }, '-'),
    seq: h('code', { 'data-testid': 'seq' }, '-'),
    usage: h('code', { 'data-testid': 'usage' }, '-'),
  }
  const problem = h('p', { class: 'error', 'data-testid': 'playground-error' })

  function fail(e: unknown) {
    const err = e as ApiError
    if (err.status === 401) return needLogin()
    problem.textContent = `${err.code ?? 'ERROR'}: ${err.message}`
  }

  async function loadConversations() {
    const page = await api<{ items: Conversation[] }>('GET', '/v1/conversations?limit=50')
    list.replaceChildren(
      ...page.items.map((c) =>
        h(
          'li',
          { class: c.id === selected ? 'selected' : '', onclick: () => select(c.id) },
          h('button', { class: 'link', 'data-testid': 'conversation' }, c.title || '(untitled)'),
        ),
      ),
    )
  }

  async function loadMessages() {
    if (!selected) return
    const page = await api<{ items: Message[] }>('GET', `/v1/conversations/${selected}/messages?limit=100`)
    messages.replaceChildren(...page.items.map((m) => h('div', { class: `message ${m.role}` }, h('b', {}, m.role), ' ', m.content)))
  }

  async function select(id: string) {
    selected = id
    send.disabled = false
    problem.textContent = ''
    await Promise.all([loadConversations(), loadMessages()]).catch(fail)
  }

  async function create() {
    try {
      const c = await api<Conversation>('POST', '/v1/conversations', { title: title.value || 'playground' })
      title.value = ''
      await select(c.id)
    } catch (e) {
      fail(e)
    }
  }

  function connect() {
    const url = new URL('/v1/ws', location.href)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    ws = new WebSocket(url, ['bearer', session.token!])
    ws.onopen = () => (meta.state.textContent = 'connected')
    ws.onclose = (e) => {
      meta.state.textContent = `closed (${e.code})`
      send.disabled = cancel.disabled = true
    }
    ws.onmessage = (m) => onFrame(JSON.parse(String(m.data)))
  }

  function onFrame(f: any) {
    switch (f.type) {
      case 'accepted':
        job = f.jobId
        meta.job.textContent = f.jobId
        meta.state.textContent = 'streaming'
        cancel.disabled = false
        return
      case 'delta':
        reply.textContent += f.text
        meta.seq.textContent = String(f.seq)
        return
      case 'done':
        meta.seq.textContent = String(f.seq)
        meta.usage.textContent = `${f.usage?.inputTokens ?? '?'} in, ${f.usage?.outputTokens ?? '?'} out`
        return finish('done')
      case 'error':
        if (f.seq !== undefined) meta.seq.textContent = String(f.seq)
        problem.textContent = `${f.code}: ${f.message}`
        return finish(f.code === 'CANCELLED' ? 'cancelled' : 'error')
      case 'rate_limited':
        problem.textContent = `rate limited; retry in ${Math.ceil(f.retryAfterMs / 1000)} s`
        return finish('rate limited')
    }
  }

  function finish(state: string) {
    meta.state.textContent = state
    cancel.disabled = true
    send.disabled = !selected
    job = undefined
    void loadMessages().catch(fail)
  }

  function sendMessage() {
    if (!selected || !ws || ws.readyState !== WebSocket.OPEN || !input.value.trim()) return
    reply.textContent = ''
    problem.textContent = ''
    meta.seq.textContent = meta.usage.textContent = meta.job.textContent = '-'
    send.disabled = true
    ws.send(JSON.stringify({ type: 'send', conversationId: selected, content: input.value, clientId: crypto.randomUUID() }))
    input.value = ''
  }

  send.addEventListener('click', sendMessage)
  cancel.addEventListener('click', () => job && ws?.send(JSON.stringify({ type: 'cancel', jobId: job })))

  root.append(
    h('h2', {}, 'Playground'),
    h(
      'div',
      { class: 'playground' },
      h('aside', {}, h('div', { class: 'row' }, title, h('button', { onclick: create, 'data-testid': 'new-conversation' }, 'New')), list),
      h(
        'div',
        { class: 'chat' },
        messages,
        h('div', { class: 'row' }, input, send, cancel),
        h('dl', { class: 'meta' }, ...Object.entries(meta).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
        reply,
        problem,
      ),
    ),
  )

  return {
    start() {
      connect()
      void loadConversations().catch(fail)
    },
    stop() {
      ws?.close()
      ws = undefined
    },
  }
}
