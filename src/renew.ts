import { renewerProcess } from './renew/process.js'

// The token renewer (src/renew/): nothing to print to, so any failure simply ends it.
await renewerProcess(process.stdin, process.argv, process.env).then(
  () => process.exit(0),
  () => process.exit(1)
)
