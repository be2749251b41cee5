// Run by test/stack.test.ts under Bun: starts a workflow and prints its result.
import { Client, Connection } from '@temporalio/client'

const [taskQueue, name] = process.argv.slice(2)
const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' })
const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' })
const result = await client.workflow.execute('pingWorkflow', {
  taskQueue: taskQueue ?? 'ping',
  workflowId: `ping-${Date.now()}`,
  args: [name ?? 'bun'],
  workflowExecutionTimeout: '30s',
})
await connection.close()
console.log(JSON.stringify({ runtime: `bun ${Bun.version}`, result }))
process.exit(0)
