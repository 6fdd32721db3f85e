import { cancellationSignal } from './runtime/cancellation.js'
import { lazyCore } from './runtime/lazy-core.js'
import { runMain } from './steps/main-step.js'

// Listening before anything else runs: a cancelled job must not lose a token half-way.
const signal = cancellationSignal()
await runMain({ core: lazyCore(process.env), env: process.env, signal })
