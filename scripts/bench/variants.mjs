// Candidate bundles for scripts/bench/breakdown.mjs, built WITHOUT touching src/ or dist/: each one
// is a copy of src/ (taken once, when the first variant is built) in a temp dir whose node_modules
// links to the project's, except for the packages a variant replaces (copied or stubbed), built with
// the project's own ncc, type-checking included. A build whose output still holds an unresolved
// import (ncc bundles a throwing stub instead of failing) counts as failed.
//
//   base        src/ as is, the flags of `npm run build` (ncc --minify --target es2022): the baseline
//   no-minify   base without --minify
//   v8-cache    base with ncc --v8-cache (a V8 code cache shipped next to the bundle), if ncc can
//   no-undici   the `undici` package replaced by a stub: @actions/http-client imports it at top level
//               for ProxyAgent, which the action never uses (getAgent goes through `tunnel`)
//   no-yaml     the `yaml` package replaced by a stub: src/credential-files.ts → clouds-yaml.ts import
//               it on every run, though only the clouds-yaml input needs it (= a dynamic import())
//   slim-core   @actions/core without the parts the action never calls (getIDToken → oidc-utils →
//               http-client; platform → @actions/exec, @actions/io; path-utils), i.e. what an own
//               small core (getInput, setSecret, exportVariable, setOutput, saveState, getState, info,
//               warning, debug, setFailed, summary) would cost; http.ts still imports http-client
//   slim        slim-core + no-undici + no-yaml: @actions/core trimmed, undici and yaml gone,
//               http-client + tunnel kept (= own core, proxy support from
//               '@actions/http-client/lib/proxy' + tunnel, yaml loaded only when clouds-yaml is used)
//   bare        slim + HttpClient replaced by a shim without tunnel: the lower bound of proxy code
//               cost (NOT shippable as is: a proxy would then be ignored)
//   slim-cjs    slim emitted as CommonJS (entry without top-level await, package type commonjs,
//               @actions/* given a "default" export condition): the cost of Node's ESM loader and
//               of webpack's async-module wrappers for the entry file
//
// Every variant runs the same src/main-step.ts; only the module graph around it changes.

import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './lib.mjs'

const NCC = join(ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')
const REPLACED = new Set(['@actions', 'undici', 'yaml', '.bin', '.package-lock.json'])

/** @actions/core's core.js without the imports of what the action never calls. */
function slimCoreSource(original) {
  let source = original
    .replace(/^import \{ OidcClient \} from '\.\/oidc-utils\.js';$/m, '')
    .replace(/^export function getIDToken\(aud\) \{[\s\S]*?^\}$/m, '')
    .replace(/^export \{ toPosixPath, toWin32Path, toPlatformPath \} from '\.\/path-utils\.js';$/m, '')
    .replace(/^export \* as platform from '\.\/platform\.js';$/m, '')
  if (/oidc-utils|platform\.js|path-utils/.test(source)) throw new Error('slim-core: @actions/core/lib/core.js changed shape; update variants.mjs')
  return source
}

// Every name a src/ file might import from 'yaml'; none is called on the benchmarked path.
const YAML_STUB = `// bench stub: clouds-yaml is not used on the benchmarked path.
const no = () => { throw new Error('yaml is stubbed out in this bench variant') }
export class LineCounter { constructor() { no() } }
export class YAMLError extends Error {}
export class YAMLParseError extends YAMLError {}
export class YAMLWarning extends YAMLError {}
export class Document { constructor() { no() } }
export class Scalar { constructor() { no() } }
export class YAMLMap { constructor() { no() } }
export class YAMLSeq { constructor() { no() } }
export class Pair { constructor() { no() } }
export class Parser { constructor() { no() } }
export class Lexer { constructor() { no() } }
export class Composer { constructor() { no() } }
export const parse = no, stringify = no, parseDocument = no, parseAllDocuments = no, visit = no, visitAsync = no
export const isScalar = no, isMap = no, isSeq = no, isPair = no, isNode = no, isDocument = no, isAlias = no, isCollection = no
export default { parse, stringify, parseDocument }
`

const UNDICI_STUB = `// bench stub: the action never calls http-client's getAgentDispatcher.
export class ProxyAgent { constructor() { throw new Error('undici is stubbed out in this bench variant') } }
export default { ProxyAgent }
`

// HttpClient.getAgent without tunnel: the default agent http-client returns when there is no proxy.
const HTTP_CLIENT_SHIM = `import * as http from 'http';
import * as https from 'https';
import { getProxyUrl } from './proxy.js';
export class HttpClient {
  constructor(userAgent) { this.userAgent = userAgent }
  getAgent(serverUrl) {
    const url = new URL(serverUrl);
    if (getProxyUrl(url)) throw new Error('bench variant "bare" has no proxy support');
    const options = { keepAlive: false, maxSockets: 100 };
    return url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  }
}
`

export const VARIANTS = {
  base: { flags: ['--minify', '--target', 'es2022'] },
  'no-minify': { flags: ['--target', 'es2022'] },
  'v8-cache': { flags: ['--minify', '--target', 'es2022', '--v8-cache'] },
  'no-undici': { flags: ['--minify', '--target', 'es2022'], undiciStub: true },
  'no-yaml': { flags: ['--minify', '--target', 'es2022'], yamlStub: true },
  'slim-core': { flags: ['--minify', '--target', 'es2022'], slimCore: true },
  slim: { flags: ['--minify', '--target', 'es2022'], slimCore: true, undiciStub: true, yamlStub: true },
  bare: { flags: ['--minify', '--target', 'es2022'], slimCore: true, undiciStub: true, yamlStub: true, httpClientShim: true },
  'slim-cjs': { flags: ['--minify', '--target', 'es2022'], slimCore: true, undiciStub: true, yamlStub: true, cjs: true }
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
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `bench-${name}`, private: true, ...(spec.cjs ? {} : { type: 'module' }) }))

  const modules = join(dir, 'node_modules')
  mkdirSync(join(modules, '@actions'), { recursive: true })
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (!REPLACED.has(entry)) symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry))
  }
  // Copies, not links: webpack resolves links to their real path and would find the real undici.
  for (const pkg of readdirSync(join(ROOT, 'node_modules', '@actions'))) {
    cpSync(join(ROOT, 'node_modules', '@actions', pkg), join(modules, '@actions', pkg), { recursive: true, dereference: true })
  }
  if (spec.undiciStub) {
    mkdirSync(join(modules, 'undici'))
    writeFileSync(
      join(modules, 'undici', 'package.json'),
      JSON.stringify({ name: 'undici', version: '0.0.0-bench', type: 'module', main: 'index.js', exports: { '.': './index.js' } })
    )
    writeFileSync(join(modules, 'undici', 'index.js'), UNDICI_STUB)
  } else {
    symlinkSync(join(ROOT, 'node_modules', 'undici'), join(modules, 'undici'))
  }
  if (spec.yamlStub) {
    mkdirSync(join(modules, 'yaml'))
    // The real declarations, so that the type-checking build still passes; the code is the stub.
    symlinkSync(join(ROOT, 'node_modules', 'yaml', 'dist'), join(modules, 'yaml', 'dist'))
    writeFileSync(
      join(modules, 'yaml', 'package.json'),
      JSON.stringify({
        name: 'yaml',
        version: '0.0.0-bench',
        type: 'module',
        main: 'index.js',
        types: './dist/index.d.ts',
        exports: { '.': { types: './dist/index.d.ts', default: './index.js' } }
      })
    )
    writeFileSync(join(modules, 'yaml', 'index.js'), YAML_STUB)
  } else {
    symlinkSync(join(ROOT, 'node_modules', 'yaml'), join(modules, 'yaml'))
  }
  if (spec.slimCore) {
    const file = join(modules, '@actions', 'core', 'lib', 'core.js')
    writeFileSync(file, slimCoreSource(readFileSync(file, 'utf8')))
  }
  if (spec.httpClientShim) {
    writeFileSync(join(modules, '@actions', 'http-client', 'lib', 'index.js'), HTTP_CLIENT_SHIM)
  }
  if (spec.cjs) {
    // @actions/* export only the "import" condition; a CommonJS build resolves with "require".
    for (const pkg of readdirSync(join(modules, '@actions'))) {
      const file = join(modules, '@actions', pkg, 'package.json')
      const json = JSON.parse(readFileSync(file, 'utf8'))
      for (const target of Object.values(json.exports ?? {}))
        if (target && typeof target === 'object' && target.import) target.default = target.import
      writeFileSync(file, JSON.stringify(json))
    }
    // CommonJS has no top-level await: the same call, its promise left to run.
    for (const stage of ['main', 'post']) {
      const file = join(dir, 'src', `${stage}.ts`)
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^await (run\w+\()/m, 'void $1'))
    }
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
