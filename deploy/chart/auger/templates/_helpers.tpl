{{/* The image of both workloads. */}}
{{- define "auger.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "auger.labels" -}}
app.kubernetes.io/part-of: auger
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "auger.serverName" -}}{{ .Release.Name }}-server{{- end -}}
{{- define "auger.agentName" -}}{{ .Release.Name }}-agent{{- end -}}

{{/* What selects the server's pods. */}}
{{- define "auger.serverSelector" -}}
app.kubernetes.io/name: auger-server
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "auger.agentSelector" -}}
app.kubernetes.io/name: auger-agent
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The server config as YAML text, whether given as text or as a map. */}}
{{- define "auger.config" -}}
{{- if kindIs "string" .Values.server.config -}}
{{ .Values.server.config }}
{{- else -}}
{{ toYaml .Values.server.config }}
{{- end -}}
{{- end -}}

{{/* Both workloads run as a non-root user with a read-only root filesystem. */}}
{{- define "auger.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile: {type: RuntimeDefault}
{{- end -}}
{{- define "auger.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end -}}
