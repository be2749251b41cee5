/**
 * Builds the worker for Node: the entry point bundled by Bun (dependencies stay in
 * node_modules) and the workflow code bundled ahead of time by the Temporal SDK, so the
 * worker starts in a second and runs exactly the workflow code that was built.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bundleWorkflowCode } from '@temporalio/worker'
import { WORKFLOWS_PATH } from './create-worker.ts'

export const BUILD_DIR = join(import.meta.dirname, '..', '..', '.build', 'worker')

const result = await Bun.build({
  entrypoints: [join(import.meta.dirname, 'main.ts')],
  outdir: BUILD_DIR,
  target: 'node',
  packages: 'external',
  sourcemap: 'linked',
})
if (!result.success) {
  for (const m of result.logs) console.error(m)
  process.exit(1)
}
const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} },
})
await writeFile(join(BUILD_DIR, 'workflow-bundle.js'), code)
console.error(`worker built in ${BUILD_DIR}`)
