export { teardown as default } from './leak-scan.mjs'
