import { lazyCore } from './lazy-core.js'
import { runPost } from './post-step.js'

await runPost({ core: lazyCore(process.env), env: process.env })
