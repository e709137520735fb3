{{- /* Name of the chart's objects: the release name, unless fullnameOverride. */ -}}
{{- define "pf.name" -}}{{ .Values.fullnameOverride | default .Release.Name }}{{- end -}}

{{- define "pf.operatorServiceAccount" -}}
{{ .Values.operator.serviceAccount.name | default (include "pf.name" .) }}
{{- end -}}

{{- define "pf.agentServiceAccount" -}}
{{ .Values.agent.serviceAccount.name | default (printf "%s-agent" (include "pf.name" .)) }}
{{- end -}}

{{- /* Spread constraints of the operator's pods; a constraint without labelSelector counts them. */ -}}
{{- define "pf.operatorSpread" -}}
{{- $constraints := list }}
{{- range .Values.operator.topologySpreadConstraints }}
{{- $selector := dict "matchLabels" (dict "app.kubernetes.io/instance" $.Release.Name "app.kubernetes.io/component" "operator") }}
{{- $constraints = append $constraints (merge (deepCopy .) (dict "labelSelector" $selector)) }}
{{- end }}
{{- toYaml $constraints }}
{{- end -}}

{{- define "pf.image" -}}
{{ include "pf.imageRef" (dict "registry" .Values.global.imageRegistry "repository" .Values.image.repository
  "tag" (.Values.image.tag | default .Chart.AppVersion) "digest" .Values.image.digest) }}
{{- end -}}

{{- /* The relay image; the operator passes it to relay pods and sidecars. */ -}}
{{- define "pf.relayImage" -}}
{{ include "pf.imageRef" (dict "registry" .Values.global.imageRegistry
  "repository" (.Values.relay.image.repository | default .Values.image.repository)
  "tag" (.Values.relay.image.tag | default .Values.image.tag | default .Chart.AppVersion)
  "digest" (.Values.relay.image.digest | default (ternary .Values.image.digest "" (empty .Values.relay.image.repository)))) }}
{{- end -}}

{{- /*
repository[:tag] or repository@digest; with a registry, that registry replaces the one the
repository names (a first path element with a dot or a port, or localhost), as a mirror holds it.
*/ -}}
{{- define "pf.imageRef" -}}
{{- $repository := .repository }}
{{- if .registry }}
{{- $parts := splitn "/" 2 $repository }}
{{- if and $parts._1 (or (contains "." $parts._0) (contains ":" $parts._0) (eq $parts._0 "localhost")) }}
{{- $repository = $parts._1 }}
{{- end }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .registry) $repository }}
{{- end }}
{{- if .digest }}{{ $repository }}@{{ .digest }}{{ else }}{{ $repository }}:{{ .tag }}{{ end }}
{{- end -}}

{{- define "pf.labels" -}}
app.kubernetes.io/name: portforward-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "pf.restricted" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- /* The metadata lines the chart adds to each CRD of files/crds/, framed by newlines. */ -}}
{{- define "pf.crdMetadata" }}
metadata:
  labels:
    {{- include "pf.labels" . | nindent 4 }}
  {{- if .Values.crds.keep }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
{{ end -}}

{{- /* The names of a list of {name: ...} objects, comma-separated. */ -}}
{{- define "pf.names" -}}
{{- $names := list }}
{{- range . }}{{ $names = append $names .name }}{{ end }}
{{- join "," $names }}
{{- end -}}
