// What @actions/workflow-parser's `import ActionSchema from "../action-v1.0.min.json"` gets (see load.ts).
import { schema } from './load.js'

export default schema('action-v1.0.min.json')
