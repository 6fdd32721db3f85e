export { setup as default } from './leak-scan.mjs'
