import { lazyCore } from './runtime/lazy-core.js'
import { runPost } from './steps/post-step.js'

await runPost({ core: lazyCore(process.env), env: process.env })
