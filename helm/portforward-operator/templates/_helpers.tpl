{{- define "pf.name" -}}{{ .Release.Name }}{{- end -}}

{{- define "pf.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "pf.relayImage" -}}
{{ .Values.relay.image.repository | default .Values.image.repository }}:{{ .Values.relay.image.tag | default .Values.image.tag | default .Chart.AppVersion }}
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
