import { cancellationSignal } from './runtime/cancellation.js'
import { lazyCore } from './runtime/lazy-core.js'
import { runPost } from './steps/post-step.js'

// Listening before anything else runs: a cancelled post step still sends its revocation.
const signal = cancellationSignal(process, 'post')
await runPost({ core: lazyCore(process.env), env: process.env, signal })
