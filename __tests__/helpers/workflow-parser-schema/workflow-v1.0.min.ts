// What @actions/workflow-parser's `import WorkflowSchema from "../workflow-v1.0.min.json"` gets (see load.ts).
import { schema } from './load.js'

export default schema('workflow-v1.0.min.json')
