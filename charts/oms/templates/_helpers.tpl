{{/* Names ------------------------------------------------------------------------------------ */}}
{{- define "oms.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "oms.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<service>"; call with (dict "root" $ "svc" "order") */}}
{{- define "oms.svcname" -}}
{{- printf "%s-%s" (include "oms.fullname" .root) .svc | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "oms.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels --------------------------------------------------------------------------------------- */}}
{{- define "oms.commonLabels" -}}
helm.sh/chart: {{ include "oms.chart" . }}
app.kubernetes.io/part-of: {{ include "oms.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "oms.releaseSelector" -}}
app.kubernetes.io/name: {{ include "oms.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector of one service's pods; (dict "root" $ "svc" "order") */}}
{{- define "oms.selectorLabels" -}}
{{ include "oms.releaseSelector" .root }}
app.kubernetes.io/component: {{ .svc }}
{{- end -}}

{{- define "oms.labels" -}}
{{ include "oms.commonLabels" .root }}
{{ include "oms.selectorLabels" . }}
{{- end -}}

{{/* Labels of release-wide objects (Secret, ServiceMonitor, ...) */}}
{{- define "oms.releaseLabels" -}}
{{ include "oms.commonLabels" . }}
{{ include "oms.releaseSelector" . }}
{{- end -}}

{{/* Image, service account, secret ------------------------------------------------------------------ */}}
{{- define "oms.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "oms.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "oms.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "oms.secretName" -}}
{{- default (printf "%s-secrets" (include "oms.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The service's Python module: oms_<service> */}}
{{- define "oms.module" -}}
{{- printf "oms_%s" . -}}
{{- end -}}

{{/* Environment of one service; (dict "root" $ "svc" "order" "cfg" $cfg) */}}
{{- define "oms.env" -}}
{{- $root := .root -}}
{{- $secret := include "oms.secretName" $root -}}
- name: OMS_SERVICE_NAME
  value: {{ .svc | quote }}
- name: OMS_HTTP_HOST
  value: "0.0.0.0"
- name: OMS_HTTP_PORT
  value: {{ .cfg.port | quote }}
- name: OMS_METRICS_PORT
  value: {{ $root.Values.metricsPort | quote }}
- name: OMS_KAFKA_BOOTSTRAP
  value: {{ required "kafka.bootstrap is required" $root.Values.kafka.bootstrap | quote }}
- name: OMS_TOPIC_PREFIX
  value: {{ $root.Values.kafka.topicPrefix | quote }}
- name: OMS_MONGO_DB_PREFIX
  value: {{ $root.Values.mongo.dbPrefix | quote }}
- name: OMS_MONGO_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.keys.mongoUrl }}
- name: OMS_INTERNAL_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.keys.internalToken }}
- name: OMS_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: OMS_LOG_JSON
  value: "true"
- name: OMS_PUBLIC_URL
  value: {{ $root.Values.publicUrl | quote }}
{{- with $root.Values.otlp.endpoint }}
- name: OMS_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- if eq .svc "gateway" }}
- name: OMS_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.keys.jwtSecret }}
{{- range $name, $s := $root.Values.services }}
{{- if and $s.enabled (ne $name "gateway") }}
- name: {{ printf "OMS_%s_URL" (upper $name) }}
  value: {{ printf "http://%s:%v" (include "oms.svcname" (dict "root" $root "svc" $name)) $s.port | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq .svc "payment" }}
- name: OMS_SANDBOX_WEBHOOK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.keys.sandboxWebhookSecret }}
- name: OMS_PUBLIC_CHECKOUT_BASE_URL
  value: {{ $root.Values.publicUrl | quote }}
{{- $gw := $root.Values.services.gateway }}
- name: OMS_SANDBOX_WEBHOOK_URL
  value: {{ printf "http://%s:%v/webhooks/payments/sandbox" (include "oms.svcname" (dict "root" $root "svc" "gateway")) $gw.port | quote }}
{{- end }}
{{- if eq .svc "console" }}
{{- $gw := $root.Values.services.gateway }}
- name: OMS_GATEWAY_URL
  value: {{ printf "http://%s:%v" (include "oms.svcname" (dict "root" $root "svc" "gateway")) $gw.port | quote }}
{{- end }}
{{- if eq .svc "notification" }}
- name: OMS_SMTP_HOST
  value: {{ $root.Values.smtp.host | quote }}
- name: OMS_SMTP_PORT
  value: {{ $root.Values.smtp.port | quote }}
- name: OMS_SMTP_FROM
  value: {{ $root.Values.smtp.from | quote }}
- name: OMS_SMTP_STARTTLS
  value: {{ $root.Values.smtp.starttls | quote }}
{{- with $root.Values.smtp.username }}
- name: OMS_SMTP_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- with $root.Values.smtp.existingSecret }}
- name: OMS_SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: password
{{- end }}
{{- end }}
{{- range $k, $v := $root.Values.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- range $k, $v := .cfg.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}
