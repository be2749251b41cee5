// Writes grafana/dashboards/*.json from grafana/dashboards.ts (`bun run grafana:build`).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { dashboards, fileName, toGrafanaJson } from './dashboards.ts'

for (const d of dashboards) {
  const path = join(import.meta.dirname, 'dashboards', fileName(d))
  writeFileSync(path, `${JSON.stringify(toGrafanaJson(d), null, 2)}\n`)
  console.error(`wrote ${path}`)
}
