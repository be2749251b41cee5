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

# With the hot standby (docker-compose.standby.yml): valid, the api reads results from the
# standby, Grafana reads only the databases, and the primary lets only the standby's role replicate.
docker compose --project-directory . --env-file "$empty/.env" -f docker-compose.yml -f docker-compose.standby.yml config --format json >"$empty/standby.json"
node - "$empty/standby.json" <<'JS'
const config = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'))
const fail = (why) => { console.error(`compose (standby): ${why}`); process.exit(1) }
const s = config.services
const host = (url) => new URL(url).host
if (!s['postgres-standby']) fail('no postgres-standby service')
if (host(s.api.environment.DATABASE_READ_URL) !== 'postgres-standby:5432') fail(`the api reads results from ${s.api.environment.DATABASE_READ_URL}`)
if (host(s.api.environment.DATABASE_URL) !== 'postgres:5432') fail('the api writes somewhere else than the primary')
if (s.grafana.environment.VOTESTREAM_PG_HOST !== 'postgres-standby:5432') fail(`grafana reads ${s.grafana.environment.VOTESTREAM_PG_HOST}`)
const nets = (name) => Object.keys(s[name]?.networks ?? {})
const grafana = nets('grafana')
const shared = Object.keys(s).filter((n) => n !== 'grafana' && nets(n).includes(grafana[0])).sort()
if (grafana.length !== 1 || shared.join() !== 'postgres,postgres-standby') fail(`grafana's network holds ${shared.join(', ')}`)
// Both databases: the standby's data directory is the primary's copy, whose own pg_hba.conf
// (the image's default) lets any role in from anywhere by password.
for (const db of ['postgres', 'postgres-standby']) {
  if (!s[db].volumes.some((v) => v.target === '/etc/votestream/pg_hba.conf' && v.read_only)) fail(`pg_hba.conf is not mounted read-only in ${db}`)
  const args = [].concat(s[db].command ?? []).join(' ')
  if (!args.includes('hba_file=/etc/votestream/pg_hba.conf')) fail(`${db} does not read stack/compose/pg_hba.conf (hba_file)`)
}
if (!s.migrate.environment.VOTESTREAM_REPLICATION_DB_PASSWORD) fail('the migrate service does not create the replication role')
// Replication: a network of the two databases alone; the standby reaches the primary by a
// name only that network knows, so it connects from the one address pg_hba.conf admits.
const onReplication = Object.keys(s).filter((n) => nets(n).includes('replication')).sort()
if (onReplication.join() !== 'postgres,postgres-standby') fail(`the replication network holds ${onReplication.join(', ')}`)
const alias = s.postgres.networks.replication?.aliases ?? []
const standbyCommand = s['postgres-standby'].command.join(' ')
for (const [what, host] of [['pg_basebackup', / -h (\S+)/], ['primary_conninfo', /primary_conninfo=host=(\S+)/]]) {
  const used = standbyCommand.match(host)?.[1]
  if (!used || !alias.includes(used)) fail(`the standby's ${what} reaches the primary as ${used}, not by its replication-only name (${alias.join(', ')})`)
}
const standbyAddress = s['postgres-standby'].networks.replication?.ipv4_address
if (!standbyAddress) fail('the standby has no fixed address on the replication network')
const primaryAddress = s.postgres.networks.replication?.ipv4_address
if (!primaryAddress || primaryAddress === standbyAddress) fail(`the primary's replication address (${primaryAddress}) is not fixed apart from the standby's`)
const hba = require('node:fs').readFileSync('stack/compose/pg_hba.conf', 'utf8').split('\n').filter((l) => /^host\w*\s+\S*replication/.test(l))
if (hba.length !== 1 || !new RegExp(`^host\\s+replication\\s+votestream_replicator\\s+${standbyAddress.replaceAll('.', '\\.')}/32\\s+scram-sha-256$`).test(hba[0]))
  fail(`pg_hba.conf's replication rules (${hba.join(' | ')}) are not the one for the standby's address ${standbyAddress}/32 by SCRAM`)
console.log(`with the standby: the api and grafana read from postgres-standby; grafana sees only the databases; only ${standbyAddress} may replicate`)
JS
grep -qE '^host +all +votestream_replicator +all +reject' stack/compose/pg_hba.conf || { echo "pg_hba.conf: the replication role may log in to databases" >&2; exit 1; }
echo "pg_hba.conf: only votestream_replicator replicates (SCRAM), and it logs in to no database"
