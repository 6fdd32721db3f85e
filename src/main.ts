import { lazyCore } from './lazy-core.js'
import { runMain } from './main-step.js'

await runMain({ core: lazyCore(process.env), env: process.env })
