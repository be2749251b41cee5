#!/usr/bin/env bash
# Validates docker-compose.yml with the Docker Compose CLI (no engine needed): as the README
# says, without secrets it stops and names the missing one; with every secret of
# .env.example given a value it is a valid Compose file. Builds the CLI from the Go module
# proxy when this machine has none (about two minutes, once).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! docker compose version >/dev/null 2>&1; then
  echo "building the Docker Compose CLI v2.29.7 from the Go module proxy (first run only)"
  GOBIN="$HOME/.docker/cli-plugins/.build" go install github.com/docker/compose/v2/cmd@v2.29.7
  mkdir -p "$HOME/.docker/cli-plugins"
  mv "$HOME/.docker/cli-plugins/.build/cmd" "$HOME/.docker/cli-plugins/docker-compose"
fi
docker compose version

empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
if out=$(docker compose --project-directory . --env-file /dev/null -f docker-compose.yml config -q 2>&1); then
  echo "docker compose accepted the file without secrets" >&2
  exit 1
fi
grep -q "required variable .* is missing a value" <<<"$out" || { echo "unexpected: $out" >&2; exit 1; }
echo "without secrets: refused ($(grep -o 'required variable [A-Z_]*' <<<"$out" | head -1))"

# Every variable of .env.example with a value of its own.
sed -E 's/^([A-Z_]+)=$/\1=ci-'"$RANDOM"'-\1/' .env.example >"$empty/.env"
docker compose --project-directory . --env-file "$empty/.env" -f docker-compose.yml config -q
echo "with every secret of .env.example set: valid"

# Grafana reaches PostgreSQL and nothing else; the tally can be scaled (no fixed port or name).
docker compose --project-directory . --env-file "$empty/.env" -f docker-compose.yml config --format json >"$empty/config.json"
node - "$empty/config.json" <<'JS'
const config = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'))
const fail = (why) => { console.error(`compose: ${why}`); process.exit(1) }
const nets = (name) => Object.keys(config.services[name]?.networks ?? {})
const grafana = nets('grafana')
if (grafana.length !== 1) fail(`grafana is on ${grafana.join(', ')}: it must be on one network, with PostgreSQL only`)
const shared = Object.keys(config.services).filter((s) => s !== 'grafana' && nets(s).includes(grafana[0]))
if (shared.join() !== 'postgres') fail(`grafana's network ${grafana[0]} also holds ${shared.join(', ')}`)
for (const s of ['kafka', 'temporal', 'api', 'tally', 'worker']) if (nets(s).includes(grafana[0])) fail(`${s} shares grafana's network`)
const tally = config.services.tally
if (tally.ports?.length || tally.container_name) fail('the tally has a fixed port or name: `--scale tally=3` would collide')
console.log(`grafana sees only postgres (network ${grafana[0]}); the tally scales (no fixed port or name)`)
JS
