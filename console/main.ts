/** The console: a hash router between the status view and the playground, and the login form both share. */
import './style.css'
import { api, session, type ApiError } from './api.ts'
import { playgroundView } from './playground.ts'
import { statusView } from './status.ts'

type View = { start(): void; stop(): void }

const $ = (id: string) => document.getElementById(id)!
const views: Record<string, View> = { status: statusView($('status'), needLogin), playground: playgroundView($('playground'), needLogin) }
let current: View | undefined

function needLogin() {
  session.set(null)
  route()
}

async function route() {
  current?.stop()
  current = undefined
  const name = location.hash.slice(1) in views ? location.hash.slice(1) : 'status'
  for (const id of ['login', 'status', 'playground']) $(id).hidden = true
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', (a as HTMLElement).dataset.view === name))
  $('logout').hidden = !session.token
  if (!session.token) {
    $('who').textContent = ''
    $('login').hidden = false
    return
  }
  try {
    const me = await api<{ email: string; tier: string }>('GET', '/v1/me')
    $('who').textContent = `${me.email} (${me.tier})`
  } catch {
    return needLogin()
  }
  $(name).hidden = false
  current = views[name]
  current!.start()
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  const form = e.target as HTMLFormElement
  const action = ((e as SubmitEvent).submitter as HTMLButtonElement | null)?.value === 'register' ? 'register' : 'login'
  const data = new FormData(form)
  $('login-error').textContent = ''
  try {
    const r = await api<{ token: string }>('POST', `/v1/auth/${action}`, { email: data.get('email'), password: data.get('password') })
    session.set(r.token)
    route()
  } catch (err) {
    $('login-error').textContent = `${(err as ApiError).code}: ${(err as Error).message}`
  }
})
$('logout').addEventListener('click', needLogin)
window.addEventListener('hashchange', route)
route()
