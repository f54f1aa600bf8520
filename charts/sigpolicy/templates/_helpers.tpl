{{/* Names. */}}
{{- define "sigpolicy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sigpolicy.fullname" -}}
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

{{/* A name derived from the full name, with a suffix, within 63 characters. */}}
{{- define "sigpolicy.child" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- printf "%s-%s" (include "sigpolicy.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "sigpolicy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sigpolicy.labels" -}}
helm.sh/chart: {{ include "sigpolicy.chart" . }}
app.kubernetes.io/name: {{ include "sigpolicy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sigpolicy
{{- end }}

{{- define "sigpolicy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sigpolicy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sigpolicy.webhookSelectorLabels" -}}
{{ include "sigpolicy.selectorLabels" . }}
app.kubernetes.io/component: webhook
{{- end }}

{{- define "sigpolicy.recorderSelectorLabels" -}}
{{ include "sigpolicy.selectorLabels" . }}
app.kubernetes.io/component: recorder
{{- end }}

{{- define "sigpolicy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sigpolicy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sigpolicy.recorderServiceAccountName" -}}
{{- if .Values.recorder.serviceAccount.create }}
{{- default (include "sigpolicy.child" (list . "recorder")) .Values.recorder.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.recorder.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sigpolicy.leaseName" -}}
{{- default (include "sigpolicy.child" (list . "recorder")) .Values.recorder.leaseName }}
{{- end }}

{{- define "sigpolicy.auditLeaseName" -}}
{{- default (include "sigpolicy.child" (list . "audit")) .Values.audit.leaseName }}
{{- end }}

{{- define "sigpolicy.tlsSecretName" -}}
{{ include "sigpolicy.child" (list . "tls") }}
{{- end }}

{{- define "sigpolicy.caSecretName" -}}
{{ include "sigpolicy.child" (list . "ca") }}
{{- end }}

{{- define "sigpolicy.keysSecretName" -}}
{{- if .Values.keys.existingSecret }}
{{- .Values.keys.existingSecret }}
{{- else }}
{{- include "sigpolicy.child" (list . "keys") }}
{{- end }}
{{- end }}

{{- define "sigpolicy.hasKeys" -}}
{{- if or .Values.keys.existingSecret .Values.keys.inline }}true{{ end }}
{{- end }}

{{- define "sigpolicy.priorityClassName" -}}
{{- if .Values.priorityClass.create }}
{{- default (include "sigpolicy.fullname" .) .Values.priorityClassName }}
{{- else }}
{{- .Values.priorityClassName }}
{{- end }}
{{- end }}

{{- define "sigpolicy.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The server's internal deadline: the webhook timeout less 2 seconds, at least 1. */}}
{{- define "sigpolicy.deadline" -}}
{{- max 1 (sub (int .Values.webhook.timeoutSeconds) 2) }}
{{- end }}

{{/* The Service's DNS names, for the serving certificate. */}}
{{- define "sigpolicy.dnsNames" -}}
{{- $svc := include "sigpolicy.fullname" . }}
{{- $ns := .Release.Namespace }}
- {{ $svc }}
- {{ printf "%s.%s" $svc $ns }}
- {{ printf "%s.%s.svc" $svc $ns }}
- {{ printf "%s.%s.svc.%s" $svc $ns .Values.tls.clusterDomain }}
{{- end }}

{{/* The policy or trust store as file text: a string as given, a mapping as YAML. */}}
{{- define "sigpolicy.yamlText" -}}
{{- if kindIs "string" . }}
{{- . }}
{{- else }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* Whether the matchConditions of the webhooks are rendered (admissionregistration v1
     has them from Kubernetes 1.28 on, beta and enabled by default, GA in 1.30). */}}
{{- define "sigpolicy.matchConditions" -}}
{{- if and .Values.webhook.excludedNamespacePrefixes (semverCompare ">=1.28.0-0" .Capabilities.KubeVersion.Version) }}
{{- $tests := list }}
{{- range .Values.webhook.excludedNamespacePrefixes }}
{{- $tests = append $tests (printf "request.namespace.startsWith(%s)" (. | toJson)) }}
{{- end -}}
matchConditions:
  - name: not-in-excluded-namespace-prefix
    expression: {{ printf "!(%s)" (join " || " $tests) | quote }}
{{- end }}
{{- end }}

{{/* The namespaceSelector: the release namespace and the excluded namespaces left out, and
     the admin's own terms ANDed. */}}
{{- define "sigpolicy.namespaceSelector" -}}
{{- $excluded := prepend .Values.webhook.excludedNamespaces .Release.Namespace | uniq }}
{{- $expressions := list (dict "key" "kubernetes.io/metadata.name" "operator" "NotIn" "values" $excluded) }}
{{- $expressions = concat $expressions (.Values.webhook.namespaceSelector.matchExpressions | default list) -}}
namespaceSelector:
  {{- with .Values.webhook.namespaceSelector.matchLabels }}
  matchLabels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  matchExpressions:
    {{- toYaml $expressions | nindent 4 }}
{{- end }}

{{/* What the webhooks are called for: every pod-bearing kind sigpolicy decides. */}}
{{- define "sigpolicy.webhookRules" -}}
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    operations: ["CREATE", "UPDATE"]
    resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers"]
    scope: Namespaced
  - apiGroups: ["apps"]
    apiVersions: ["v1"]
    operations: ["CREATE", "UPDATE"]
    resources: ["deployments", "replicasets", "statefulsets", "daemonsets"]
    scope: Namespaced
  - apiGroups: ["batch"]
    apiVersions: ["v1"]
    operations: ["CREATE", "UPDATE"]
    resources: ["jobs", "cronjobs"]
    scope: Namespaced
  - apiGroups: ["apps.openshift.io"]
    apiVersions: ["v1"]
    operations: ["CREATE", "UPDATE"]
    resources: ["deploymentconfigs"]
    scope: Namespaced
{{- end }}

{{/* The settings both webhooks share. */}}
{{- define "sigpolicy.webhookCommon" -}}
{{- $root := index . 0 }}
{{- $path := index . 1 }}
{{- $caBundle := index . 2 -}}
admissionReviewVersions: ["v1"]
sideEffects: None
failurePolicy: {{ $root.Values.webhook.failurePolicy }}
timeoutSeconds: {{ $root.Values.webhook.timeoutSeconds | int }}
matchPolicy: Equivalent
clientConfig:
  service:
    name: {{ include "sigpolicy.fullname" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ $path }}
    port: {{ $root.Values.service.port | int }}
  {{- if $caBundle }}
  caBundle: {{ $caBundle }}
  {{- end }}
{{ include "sigpolicy.namespaceSelector" $root }}
{{- with $root.Values.webhook.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{ include "sigpolicy.webhookRules" $root }}
{{- with (include "sigpolicy.matchConditions" $root) }}
{{ . }}
{{- end }}
{{- end }}

{{/* Volumes with the configuration: policy and trust store, keys. */}}
{{- define "sigpolicy.configVolumes" -}}
- name: config
  configMap:
    name: {{ include "sigpolicy.child" (list . "config") }}
{{- if include "sigpolicy.hasKeys" . }}
- name: keys
  secret:
    secretName: {{ include "sigpolicy.keysSecretName" . }}
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}

{{- define "sigpolicy.configMounts" -}}
- name: config
  mountPath: /etc/sigpolicy/config
  readOnly: true
{{- if include "sigpolicy.hasKeys" . }}
- name: keys
  mountPath: /etc/sigpolicy/keys
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- /* Egress both pods need: DNS, and the API server (its address is rarely known in
       advance, so by default any address on the API server ports). */}}
{{- define "sigpolicy.egress" -}}
- ports:
    {{- range .Values.networkPolicy.dnsPorts }}
    - protocol: UDP
      port: {{ . }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
- ports:
    {{- range .Values.networkPolicy.apiServerPorts }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with .Values.networkPolicy.apiServerCIDRs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- with .Values.networkPolicy.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}
