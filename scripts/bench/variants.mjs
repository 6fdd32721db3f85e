// Candidate bundles for scripts/bench/breakdown.mjs, built WITHOUT touching src/ or dist/: each one
// is a copy of src/ (taken once, when the first variant is built) in a temp dir whose node_modules
// links to the project's, built with the project's own ncc, type-checking included. A build whose
// output still holds an unresolved import (ncc bundles a throwing stub instead of failing) counts
// as failed.
//
//   base        src/ as is, the flags of `npm run build` (ncc --minify --target es2022): @actions/core
//               in a chunk loaded while the login request is in flight (src/runtime/lazy-core.ts), the
//               HTTP client only for a proxy, yaml only for a clouds.yaml
//   no-minify   base without --minify
//   v8-cache    base with ncc --v8-cache (a V8 code cache shipped next to the bundle), if ncc can
//   eager-core  the entry points import @actions/core statically and hand it to the steps: the
//               package (and the HTTP client its OIDC client brings, undici among it) loads before
//               the first request instead of during it
//   eager       eager-core, and @actions/http-client and yaml imported at start too: the module graph
//               of the previous release, where everything loaded before the step began
//
// Every variant runs the same src/steps/main-step.ts; only when the modules around it load changes.

import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './lib.mjs'

const NCC = join(ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')

/** An entry point that loads what `imports` name before it runs its step with the real @actions/core. */
function eagerEntry(step, imports) {
  const run = step === 'main' ? 'runMain' : 'runPost'
  return [
    "import * as core from '@actions/core'",
    ...imports.map(name => `import '${name}'`),
    `import { ${run} } from './${step}-step.js'`,
    '',
    `await ${run}({ core, env: process.env })`,
    ''
  ].join('\n')
}

export const VARIANTS = {
  base: { flags: ['--minify', '--target', 'es2022'] },
  'no-minify': { flags: ['--target', 'es2022'] },
  'v8-cache': { flags: ['--minify', '--target', 'es2022', '--v8-cache'] },
  'eager-core': { flags: ['--minify', '--target', 'es2022'], eager: [] },
  eager: { flags: ['--minify', '--target', 'es2022'], eager: ['@actions/http-client', 'yaml'] }
}

/**
 * Builds one variant into `${tmpRoot}/${name}`; returns { name, main, post, error? } with the
 * absolute bundle paths (main/index.js, post/index.js under its out/ dir).
 */
export function buildVariant(tmpRoot, name) {
  const spec = VARIANTS[name]
  const dir = join(tmpRoot, name)
  mkdirSync(dir, { recursive: true })
  // One copy of src/ for all variants (others edit src/ meanwhile): the first call takes it.
  const snapshot = join(tmpRoot, 'src-snapshot')
  if (!existsSync(snapshot)) cpSync(join(ROOT, 'src'), snapshot, { recursive: true })
  cpSync(snapshot, join(dir, 'src'), { recursive: true })
  cpSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `bench-${name}`, private: true, type: 'module' }))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  if (spec.eager) {
    for (const step of ['main', 'post']) writeFileSync(join(dir, 'src', `${step}.ts`), eagerEntry(step, spec.eager))
  }

  const out = join(dir, 'out')
  try {
    for (const stage of ['main', 'post']) {
      // webpack stats (module sizes before minification) of every bundle, for the composition table.
      const stats = ['--stats-out', join(dir, `stats-${stage}.json`)]
      execFileSync(process.execPath, [NCC, 'build', `src/${stage}.ts`, '-o', join(out, stage), '-q', ...stats, ...spec.flags], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
        env: { ...process.env, NODE_OPTIONS: '' }
      })
    }
  } catch (error) {
    const lines = `${error.stderr ?? ''}${error.stdout ?? ''}`
      .split('\n')
      .map(l => l.trim())
      .filter(l => l && !l.startsWith('at '))
    const detail =
      lines
        .filter(l => /error|TS\d+/i.test(l))
        .slice(0, 3)
        .join(' | ') || lines.slice(-2).join(' | ')
    return { name, dir, error: detail || error.message }
  }
  const main = join(out, 'main', 'index.js')
  const post = join(out, 'post', 'index.js')
  if (!existsSync(main) || !existsSync(post)) return { name, dir, error: 'ncc produced no index.js' }
  // ncc does not fail on an unresolved import: it bundles a throwing stub instead.
  for (const file of [main, post]) {
    const missing = /Cannot find module '([^']+)'/.exec(readFileSync(file, 'utf8'))
    if (missing) return { name, dir, error: `unresolved import ${missing[1]} in ${file}` }
  }
  return { name, dir, out, main, post }
}

/** Bytes of source (before minification) per package in a variant's bundle, from ncc's stats. */
export function composition(variant, stage) {
  const file = join(variant.dir, `stats-${stage}.json`)
  if (!existsSync(file)) return undefined
  const byPackage = {}
  for (const m of JSON.parse(readFileSync(file, 'utf8')).modules ?? []) {
    const id = String(m.nameForCondition ?? m.name ?? '')
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(id)?.[1] ?? (/\/src\//.test(id) || id.startsWith('./src/') ? 'src/' : 'webpack runtime, builtins')
    byPackage[pkg] = (byPackage[pkg] ?? 0) + (m.size ?? 0)
  }
  return Object.entries(byPackage).sort((a, b) => b[1] - a[1])
}

export function removeVariants(tmpRoot) {
  rmSync(tmpRoot, { recursive: true, force: true })
}
