// @actions/workflow-parser loads its schemas with `import schema from "../action-v1.0.min.json"`,
// without the `with { type: 'json' }` that Node requires (ERR_IMPORT_ATTRIBUTE_MISSING) and that
// jest only warns about, until its next major. jest.config.js maps those two imports to the modules
// beside this one, which read the same files as plain JSON.
import { readFileSync } from 'node:fs'

const DIST = new URL('../../../node_modules/@actions/workflow-parser/dist/', import.meta.url)

export function schema(file: 'action-v1.0.min.json' | 'workflow-v1.0.min.json'): unknown {
  return JSON.parse(readFileSync(new URL(file, DIST), 'utf8'))
}
