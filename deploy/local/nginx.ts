/**
 * nginx in front of the local cluster: the site config rendered from the one template in
 * deploy/nginx/, wrapped in a main config whose files all live in the cluster's folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const TEMPLATE = resolve(import.meta.dirname, '../nginx/scale.conf.template')

/** The site config for `servers` (`host:port` each) listening on `listen`. */
export function renderSite(servers: string[], listen: string | number): string {
  return readFileSync(TEMPLATE, 'utf8')
    .replace('{{servers}}', servers.map((s) => `  server ${s} max_fails=1 fail_timeout=2s;`).join('\n'))
    .replace('{{listen}}', String(listen))
}

/** The upstreams of deploy/docker-compose.yml, whose site config is deploy/nginx/scale.conf. */
export const COMPOSE_SITE = { servers: ['api-1:3000', 'api-2:3000', 'api-3:3000'], listen: 8080 }

/** Why nginx can't be started here, or undefined when it can. */
export function nginxMissing(): string | undefined {
  return spawnSync('nginx', ['-v']).status === 0 ? undefined : 'nginx is not installed (Debian: apt-get install nginx)'
}

export interface LocalNginx {
  url: string
  port: number
  /** Point the upstream at another set of servers and reload without dropping connections. */
  reload(servers: string[]): void
  stop(): Promise<void>
}

export async function startNginx(dir: string, port: number, servers: string[]): Promise<LocalNginx> {
  mkdirSync(dir, { recursive: true })
  // Worker processes run unprivileged when nginx starts as root; they need the temp folders.
  for (const t of ['body', 'proxy']) {
    mkdirSync(join(dir, t), { recursive: true })
    chmodSync(join(dir, t), 0o777)
  }
  chmodSync(dir, 0o755)
  const site = join(dir, 'scale.conf')
  const main = join(dir, 'nginx.conf')
  writeFileSync(site, renderSite(servers, `127.0.0.1:${port}`))
  writeFileSync(
    main,
    [
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      `  access_log off;`,
      `  client_body_temp_path ${join(dir, 'body')};`,
      `  proxy_temp_path ${join(dir, 'proxy')};`,
      `  include ${site};`,
      '}',
      '',
    ].join('\n'),
  )
  const proc: ChildProcess = spawn('nginx', ['-c', main, '-p', dir, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr?.on('data', (d) => (stderr += d))
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx did not start: ${stderr}`)
    const up = await fetch(`${url}/health/live`).then(
      (r) => r.status > 0,
      () => false,
    )
    if (up) break
    await new Promise((r) => setTimeout(r, 50))
  }
  let stopped: Promise<void> | undefined
  return {
    url,
    port,
    reload(next) {
      writeFileSync(site, renderSite(next, `127.0.0.1:${port}`))
      proc.kill('SIGHUP')
    },
    stop: () =>
      (stopped ??= new Promise<void>((res) => {
        if (proc.exitCode !== null) return res()
        proc.once('exit', () => res())
        proc.kill('SIGQUIT')
      })),
  }
}
