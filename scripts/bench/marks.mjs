// Timestamps inside one run of a bundle, for scripts/bench/breakdown.mjs:
//   node scripts/bench/marks.mjs [BUNDLE]    (env: what the step would get, plus BENCH_MARKS_OUT=FILE;
//                                            BENCH_BUNDLE=BUNDLE when run as an action step by runStep)
// Before importing BUNDLE it wraps, on the builtin modules' shared objects (the bundle reaches them
// through require('http'), require('fs'), process.stdout, so it sees the wrappers):
//   process.stdout.write   first write = the bundle is loaded and runMain has started (its first act
//                          is ::add-mask:: of the secret inputs)
//   http.request           the request is created = configuration resolved;
//                          its socket connects, the response headers arrive, the body ends
//   fs.appendFileSync      every file command (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE): count, time
//   fs.writeFileSync, fs.promises.appendFile/writeFile   counted too (CA file, job summary)
// and at 'exit' writes, as JSON to BENCH_MARKS_OUT, every mark in ms since performance.timeOrigin
// (Node's own process start) plus timeOrigin as an epoch, so the parent can add the time from its
// spawn() to the child's timeOrigin. Overhead of the wrappers: a few µs per call.
import { syncBuiltinESMExports } from 'node:module'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'

const require = createRequire(import.meta.url)
const fs = require('fs')
const http = require('http')
const marks = { wrapperStart: performance.now(), timeOrigin: performance.timeOrigin }
const fileWrites = { count: 0, ms: 0, first: NaN, last: NaN }
const writeFile = fs.writeFileSync

const write = process.stdout.write
process.stdout.write = function (...args) {
  marks.firstWrite ??= performance.now()
  marks.lastWrite = performance.now()
  return write.apply(this, args)
}
const append = fs.appendFileSync
fs.appendFileSync = function (...args) {
  const t = performance.now()
  if (fileWrites.count === 0) fileWrites.first = t
  try {
    return append.apply(this, args)
  } finally {
    fileWrites.count++
    fileWrites.last = performance.now()
    fileWrites.ms += fileWrites.last - t
  }
}
for (const name of ['writeFileSync']) {
  const original = fs[name]
  fs[name] = function (...args) {
    fileWrites.other = (fileWrites.other ?? 0) + 1
    return original.apply(this, args)
  }
}
// The job summary goes through fs.promises (access, then appendFile/writeFile): first call → last settle.
const asyncFs = { count: 0, first: NaN, last: NaN }
for (const name of ['access', 'appendFile', 'writeFile']) {
  const original = fs.promises[name]
  fs.promises[name] = function (...args) {
    asyncFs.count++
    if (!Number.isFinite(asyncFs.first)) asyncFs.first = performance.now()
    const settle = () => {
      asyncFs.last = performance.now()
    }
    const promise = original.apply(this, args)
    promise.then(settle, settle)
    return promise
  }
}
const request = http.request
http.request = function (...args) {
  marks.request ??= performance.now()
  const req = request.apply(this, args)
  req.once('socket', socket =>
    socket.once('connect', () => {
      marks.connect ??= performance.now()
    })
  )
  req.once('response', res => {
    marks.response ??= performance.now()
    res.once('end', () => {
      marks.bodyEnd ??= performance.now()
    })
  })
  return req
}
syncBuiltinESMExports()

process.once('exit', () => {
  marks.exit = performance.now()
  marks.fileWrites = fileWrites
  marks.asyncFs = asyncFs
  // Node's own modules loaded by now (each not in Node's built-in snapshot is compiled on load).
  marks.builtins = process.moduleLoadList.filter(m => m.startsWith('NativeModule ')).map(m => m.slice(13))
  if (process.env.BENCH_MARKS_OUT) writeFile(process.env.BENCH_MARKS_OUT, JSON.stringify(marks))
})

marks.beforeImport = performance.now()
await import(pathToFileURL(resolve(process.argv[2] ?? process.env.BENCH_BUNDLE)).href)
marks.afterImport = performance.now()
