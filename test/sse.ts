/** Reads server-sent events from a URL until `until` says stop; returns the last data. */
export async function followSse<T>(url: string, until: (data: T) => boolean, timeoutMs: number): Promise<{ last: T; events: number }> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  const res = await fetch(url, { signal: controller.signal })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let events = 0
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the stream ended')
      buffer += decoder.decode(value, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n')
        buffer = buffer.slice(end + 2)
        if (!data) continue
        events++
        const parsed = JSON.parse(data) as T
        if (until(parsed)) return { last: parsed, events }
      }
    }
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
}
