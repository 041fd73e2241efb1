/**
 * A generated client against a live runtime: openapi-typescript turns `/v1/openapi.json`
 * into types, the README's walk-through (test/openapi/client/walkthrough.ts) is written
 * with openapi-fetch against them and type-checked by tsc, then it runs, and every answer
 * it got is checked against the document: the status is documented for that operation,
 * and the body matches the documented schema.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { Runtime } from '../../core/app.ts'
import { HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'

const ROOT = join(import.meta.dir, '../..')
/** Inside the repository (gitignored), so the generated code resolves openapi-fetch from node_modules. */
const OUT = join(ROOT, 'test-output/openapi')

let rt: Runtime
let base: string
let doc: any

beforeAll(async () => {
  rt = await startRuntime({ llm: { fakeTokenDelay: '1 ms' } })
  base = `http://127.0.0.1:${(await rt.listen()).port}`
  doc = await (await fetch(`${base}/v1/openapi.json`)).json()
  await rm(OUT, { recursive: true, force: true })
  await mkdir(OUT, { recursive: true })
}, HOOK_TIMEOUT)
afterAll(async () => {
  await rt?.stop()
}, HOOK_TIMEOUT)

async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(cmd, { cwd: OUT, stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, out: out + err }
}

test('types generated from the document type-check the walk-through, which then runs with every answer as documented', async () => {
  await writeFile(join(OUT, 'openapi.json'), JSON.stringify(doc, null, 2))
  const gen = await run(['node', join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'), 'openapi.json', '-o', 'api.d.ts'])
  expect(gen.out).not.toContain('✘')
  expect(gen.code).toBe(0)
  await copyFile(join(import.meta.dir, 'client/walkthrough.ts'), join(OUT, 'walkthrough.ts'))
  await writeFile(
    join(OUT, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ESNext',
        module: 'ESNext',
        moduleResolution: 'bundler',
        allowImportingTsExtensions: true,
        lib: ['ESNext', 'DOM'],
        types: [],
        skipLibCheck: true,
      },
      files: ['walkthrough.ts'],
    }),
  )
  const tsc = await run(['node', join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'])
  expect(tsc.out).toBe('')
  expect(tsc.code).toBe(0)

  const { walkthrough } = await import(join(OUT, 'walkthrough.ts'))
  const seen: { method: string; path: string; status: number; contentType: string; body: unknown }[] = await walkthrough(base)
  expect(seen.length).toBeGreaterThan(15)

  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats(ajv)
  ajv.addSchema({ ...doc, $id: 'openapi.json' })
  const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')
  const problems: string[] = []
  for (const s of seen) {
    const op = doc.paths[s.path]?.[s.method]
    if (!op) {
      problems.push(`${s.method} ${s.path}: not in the document`)
      continue
    }
    let response = op.responses[String(s.status)]
    let where = `#/paths/${pointer(s.path, s.method, 'responses', String(s.status))}`
    if (!response) {
      problems.push(`${s.method} ${s.path} answered ${s.status}, which is not documented`)
      continue
    }
    if (response.$ref) {
      where = response.$ref
      response = doc.components.responses[response.$ref.split('/').pop()]
    }
    const type = s.contentType.split(';')[0]!.trim()
    if (!type && s.body === '') {
      if (response.content) problems.push(`${s.method} ${s.path} ${s.status}: empty body, documented with content`)
      continue
    }
    if (!response.content?.[type]) {
      problems.push(`${s.method} ${s.path} ${s.status}: ${type} is not documented`)
      continue
    }
    const validate = ajv.getSchema(`openapi.json${where}/content/${pointer(type)}/schema`)!
    if (!validate(s.body))
      problems.push(`${s.method} ${s.path} ${s.status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(s.body).slice(0, 200)}`)
  }
  expect(problems).toEqual([])
  // The walk-through reached the errors a client handles, and each matched the error schema.
  expect(
    seen
      .filter((s) => s.status >= 400)
      .map((s) => s.status)
      .sort(),
  ).toEqual([400, 401, 404])
}, 180_000)
