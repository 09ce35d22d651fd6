{{/* Chart name, cut to 63 characters (the DNS label limit). */}}
{{- define "arbor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<release>-arbor", or the release name alone when it already contains the chart name. */}}
{{- define "arbor.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "arbor.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "arbor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "arbor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "arbor.labels" -}}
helm.sh/chart: {{ include "arbor.chart" . }}
{{ include "arbor.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: arbor
{{- end }}

{{- define "arbor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "arbor.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "arbor.image" -}}
{{- $repository := required "image.repository is required" .Values.image.repository }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}

{{/* The Secret holding the secret settings: the user's, or the chart's. */}}
{{- define "arbor.secretName" -}}
{{- default (include "arbor.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* The Bitnami subcharts' resource name: "<release>-<chart>" unless the release name contains it. */}}
{{- define "arbor.subchartFullname" -}}
{{- $root := index . 0 }}{{- $name := index . 1 }}
{{- if contains $name $root.Release.Name }}
{{- $root.Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" $root.Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
Where the database is and where its password comes from, as a dict: dialect, host, port, database,
user, secretName, secretKey. Fails with a clear message when the chart cannot know.
*/}}
{{- define "arbor.database" -}}
{{- if .Values.mysql.enabled }}
{{- $fullname := include "arbor.subchartFullname" (list . "mysql") }}
dialect: mysql
host: {{ $fullname }}
port: 3306
database: {{ .Values.mysql.auth.database }}
user: {{ .Values.mysql.auth.username }}
secretName: {{ default $fullname .Values.mysql.auth.existingSecret }}
secretKey: mysql-password
{{- else }}
{{- $db := .Values.externalDatabase }}
{{- if not (has $db.dialect (list "mysql" "mariadb")) }}
{{- fail (printf "externalDatabase.dialect must be mysql or mariadb, not %q" $db.dialect) }}
{{- end }}
{{- if and (not .Values.secret.existingSecret) (not $db.password) }}
{{- fail "externalDatabase.password is required (or secret.existingSecret with the key database-password, or mysql.enabled for a quick start)" }}
{{- end }}
{{- if contains "/" (toString $db.password) }}
{{- fail "externalDatabase.password must not contain \"/\" (it is placed into DATABASE_URL as it is)" }}
{{- end }}
dialect: {{ $db.dialect }}
host: {{ required "externalDatabase.host is required (the MySQL/MariaDB server), or set mysql.enabled=true for a quick start" $db.host }}
port: {{ $db.port }}
database: {{ required "externalDatabase.database is required" $db.database }}
user: {{ required "externalDatabase.user is required" $db.user }}
secretName: {{ include "arbor.secretName" . }}
secretKey: database-password
{{- end }}
{{- end }}

{{/* Redis as a dict (host, port, db, scheme, secretName, secretKey), or an empty dict without Redis. */}}
{{- define "arbor.redis" -}}
{{- if .Values.redis.enabled }}
{{- $fullname := include "arbor.subchartFullname" (list . "redis") }}
host: {{ $fullname }}-master
port: 6379
db: 0
scheme: redis
{{- if .Values.redis.auth.enabled }}
secretName: {{ default $fullname .Values.redis.auth.existingSecret }}
secretKey: {{ default "redis-password" .Values.redis.auth.existingSecretPasswordKey }}
{{- end }}
{{- else if .Values.externalRedis.host }}
{{- $redis := .Values.externalRedis }}
host: {{ $redis.host }}
port: {{ $redis.port }}
db: {{ $redis.db }}
scheme: {{ ternary "rediss" "redis" $redis.tls }}
{{- if $redis.auth.enabled }}
{{- if and (not .Values.secret.existingSecret) (not $redis.auth.password) }}
{{- fail "externalRedis.auth.password is required when externalRedis.auth.enabled (or secret.existingSecret with the key redis-password)" }}
{{- end }}
secretName: {{ include "arbor.secretName" . }}
secretKey: redis-password
{{- end }}
{{- end }}
{{- end }}

{{/* BASE_URL: config.baseUrl, else the first ingress host, else the in-cluster service URL. */}}
{{- define "arbor.baseUrl" -}}
{{- if .Values.config.baseUrl }}
{{- tpl .Values.config.baseUrl . }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $tls := false }}
{{- range .Values.ingress.tls }}{{ if has $host .hosts }}{{ $tls = true }}{{ end }}{{ end }}
{{- printf "%s://%s" (ternary "https" "http" $tls) $host }}
{{- else }}
{{- printf "http://%s.%s.svc" (include "arbor.fullname" .) .Release.Namespace }}
{{- end }}
{{- end }}

{{/*
The non-secret settings, as a YAML map of environment variables (the ConfigMap's data). Entries of
config.extra override the ones the chart sets.
*/}}
{{- define "arbor.configData" -}}
{{- $data := dict
  "NODE_ENV" "production"
  "HOST" "0.0.0.0"
  "PORT" "8000"
  "BASE_URL" (include "arbor.baseUrl" .)
  "TRUST_PROXY" (tpl (toString .Values.config.trustProxy) .)
  "TIME_ZONE" (tpl (toString .Values.config.timeZone) .)
  "LOG_LEVEL" (tpl (toString .Values.config.logLevel) .)
  "DATABASE_POOL_SIZE" (toString .Values.config.databasePoolSize)
  "SWAGGER_ENABLED" (toString .Values.config.swaggerEnabled)
  "METRICS_ENABLED" (toString .Values.metrics.enabled)
  "SHUTDOWN_TIMEOUT_SECONDS" (toString .Values.config.shutdownTimeoutSeconds)
}}
{{- range $key, $value := .Values.config.extra }}
{{- $_ := set $data $key (tpl (toString $value) $) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/*
DATABASE_URL as container env entries. Kubernetes puts the URL together from the password variable
defined just before it ($(VAR) expansion), so the password never appears in the pod spec.
Takes a dict: root (the chart context) and secretName (optional: where the password is instead).
*/}}
{{- define "arbor.databaseEnv" -}}
{{- $db := include "arbor.database" .root | fromYaml }}
- name: ARBOR_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default $db.secretName .secretName }}
      key: {{ $db.secretKey }}
- name: DATABASE_URL
  value: {{ printf "%s://%s:$(ARBOR_DATABASE_PASSWORD)@%s:%v/%s" $db.dialect $db.user $db.host $db.port $db.database | quote }}
{{- end }}

{{/* REDIS_URL (and its password variable) when Redis is configured. */}}
{{- define "arbor.redisEnv" -}}
{{- $redis := include "arbor.redis" . | fromYaml }}
{{- if $redis.host }}
{{- if $redis.secretName }}
- name: ARBOR_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $redis.secretName }}
      key: {{ $redis.secretKey }}
- name: REDIS_URL
  value: {{ printf "%s://:$(ARBOR_REDIS_PASSWORD)@%s:%v/%v" $redis.scheme $redis.host $redis.port $redis.db | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "%s://%s:%v/%v" $redis.scheme $redis.host $redis.port $redis.db | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* ADMIN_PASSWORD and METRICS_TOKEN, each only when the Secret has it. */}}
{{- define "arbor.optionalSecretEnv" -}}
- name: ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "arbor.secretName" . }}
      key: admin-password
      optional: true
- name: METRICS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "arbor.secretName" . }}
      key: metrics-token
      optional: true
{{- end }}

{{/* SECRET_KEY seals the OAuth signing keys and the site configuration's secrets: one for every pod. */}}
{{- define "arbor.secretKeyEnv" -}}
{{- if not .Values.secret.existingSecret }}
{{- $secretKey := required "secret.secretKey is required (32+ characters, e.g. `openssl rand -hex 32`): it seals the OAuth signing keys and the site configuration's secrets" .Values.secret.secretKey | toString }}
{{- if lt (len $secretKey) 32 }}
{{- fail "secret.secretKey must have at least 32 characters" }}
{{- end }}
{{- end }}
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "arbor.secretName" . }}
      key: secret-key
{{- end }}

{{/* A writable /tmp for containers whose root filesystem is read-only. */}}
{{- define "arbor.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{- define "arbor.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}
