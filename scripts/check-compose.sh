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
