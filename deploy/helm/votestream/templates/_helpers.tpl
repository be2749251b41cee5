{{/* Names and labels. */}}
{{- define "votestream.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "votestream.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "votestream.labels" -}}
{{ include "votestream.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "votestream.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "votestream.secret" -}}
{{- required "existingSecret: name the Secret with API_ADMIN_TOKEN, API_VOTER_SECRET, VOTESTREAM_APP_DB_PASSWORD, VOTESTREAM_API_DB_PASSWORD, VOTESTREAM_GRAFANA_DB_PASSWORD and GRAFANA_ADMIN_PASSWORD (this chart holds no secret)" .Values.existingSecret -}}
{{- end -}}

{{/* The CloudNativePG service: (list $ "rw") or (list $ "ro"). */}}
{{- define "votestream.pgHost" -}}
{{- $root := index . 0 -}}
{{- $pg := $root.Values.postgresql -}}
{{- printf "%s-%s" $pg.cluster (index . 1) -}}
{{- with $pg.namespace }}.{{ . }}.svc{{ end -}}
{{- end -}}

{{/* A connection URL whose user and password are variables set before it: (list $ service userVar passwordVar). */}}
{{- define "votestream.pgUrl" -}}
{{- $root := index . 0 -}}
{{- $pg := $root.Values.postgresql -}}
postgres://{{ index . 2 }}:$({{ index . 3 }})@{{ include "votestream.pgHost" (list $root (index . 1)) }}:{{ $pg.port }}/{{ $pg.database }}{{ with $pg.sslmode }}?sslmode={{ . }}{{ end }}
{{- end -}}

{{- define "votestream.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "votestream.secret" .root }}
      key: {{ .key | default .name }}
{{- end -}}

{{/*
What every process reads (lib/config.ts), as in docker-compose.yml's x-app-env, connecting to
the primary as a database role whose password is a key of existingSecret:
(list $ role passwordKey). The tally and the worker connect as votestream_app
(votestream.appEnv), the api as its own votestream_api (votestream.apiEnv).
*/}}
{{- define "votestream.processEnv" -}}
{{- $root := index . 0 -}}
- name: NODE_ENV
  value: production
{{ include "votestream.secretEnv" (dict "root" $root "name" (index . 2)) }}
- name: DATABASE_URL
  value: {{ include "votestream.pgUrl" (list $root "rw" (index . 1) (index . 2)) | quote }}
- name: KAFKA_BROKERS
  value: {{ $root.Values.kafka.bootstrapServers | quote }}
- name: LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: TMPDIR
  value: /tmp
- name: BUN_RUNTIME_TRANSPILER_CACHE_PATH
  value: /tmp/bun-transpiler-cache
{{- end -}}

{{/* The tally's and the worker's: rows everywhere (db/migrations/0003_roles.sql). */}}
{{- define "votestream.appEnv" -}}
{{ include "votestream.processEnv" (list . "votestream_app" "VOTESTREAM_APP_DB_PASSWORD") }}
{{- end -}}

{{/* The api's: only what its routes run (db/migrations/0032_api_role.sql). */}}
{{- define "votestream.apiEnv" -}}
{{ include "votestream.processEnv" (list . "votestream_api" "VOTESTREAM_API_DB_PASSWORD") }}
{{- end -}}

{{- define "votestream.temporalEnv" -}}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: TEMPORAL_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
- name: TEMPORAL_UI_URL
  value: {{ .Values.temporal.uiUrl | quote }}
{{- end -}}

{{- define "votestream.podSpecCommon" -}}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{- define "votestream.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Spreads a component's pods over nodes when it can. */}}
{{- define "votestream.spread" -}}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "votestream.selectorLabels" . | nindent 8 }}
{{- end -}}

{{- define "votestream.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}

{{- define "votestream.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}
