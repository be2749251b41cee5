// Run by test/stack.test.ts under Bun: the services' Kafka client on the services' runtime.
import { randomUUID } from 'node:crypto'
import { createKafka } from '../../lib/kafka.ts'

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const topic = process.argv[2] ?? 'votes'
const kafka = createKafka({ brokers, clientId: 'roundtrip' })
const marker = randomUUID()
const producer = kafka.producer({ idempotent: true })
await producer.connect()
const [sent] = await producer.send({ topic, acks: -1, messages: [{ key: 'roundtrip', value: marker }] })
await producer.disconnect()

const consumer = kafka.consumer({ groupId: `roundtrip-${marker}` })
await consumer.connect()
await consumer.subscribe({ topic, fromBeginning: false })
const received = new Promise<string>((resolve) => {
  void consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value?.toString() === marker) resolve(marker)
    },
  })
})
// The group starts at the end; seek the partition the message went to back to it.
consumer.seek({ topic, partition: sent?.partition ?? 0, offset: sent?.baseOffset ?? '0' })
const got = await Promise.race([received, new Promise<string>((_, rej) => setTimeout(() => rej(new Error('no message in 20s')), 20_000))])
await consumer.disconnect()
console.log(JSON.stringify({ runtime: `bun ${Bun.version}`, sent: marker, received: got, partition: sent?.partition }))
process.exit(0)
