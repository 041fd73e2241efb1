#!/usr/bin/env node
// The scale-runtime command (`npx scale-runtime start`). The runtime runs on Bun: under Bun
// this runs core/cli.ts in this process; under Node it starts Bun (a dependency of this
// package, else `bun` on the PATH) with the same arguments and passes signals on.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../core/cli.ts', import.meta.url))

if (process.versions.bun) {
  const { runCli } = await import(cli)
  const { exitOnError } = await import(fileURLToPath(new URL('../core/exit.ts', import.meta.url)))
  runCli(process.argv.slice(2)).then((code) => {
    if (typeof code === 'number') process.exit(code)
  }, exitOnError)
} else {
  const child = spawn(bunBinary(), [cli, ...process.argv.slice(2)], { stdio: 'inherit' })
  // A terminal sends SIGINT to the whole group (Bun gets it too); pass on what was sent to us alone.
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT']) {
    process.on(signal, () => {
      if (signal !== 'SIGINT' || !process.stdin.isTTY) child.kill(signal)
    })
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
  child.on('error', (e) => {
    console.error(`scale-runtime needs Bun to run (${e.message}); install it with \`npm install bun\``)
    process.exit(1)
  })
}

/**
 * The Bun binary: the platform package the `bun` dependency installs (it works even when
 * install scripts were skipped), else the `bun` package's own, else `bun` from the PATH.
 */
function bunBinary() {
  const require = createRequire(import.meta.url)
  const candidates = [
    [`@oven/bun-${process.platform}-${process.arch}/package.json`, 'bin/bun'],
    ['bun/package.json', 'bin/bun.exe'],
  ]
  for (const [pkg, file] of candidates) {
    try {
      const exe = join(dirname(require.resolve(pkg, { paths: [dirname(require.resolve('bun/package.json'))] })), file)
      if (existsSync(exe)) return exe
    } catch {
      // not installed; try the next
    }
  }
  return 'bun'
}
