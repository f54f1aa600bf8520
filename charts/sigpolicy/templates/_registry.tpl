{{- /* The registry options and files shared by the webhook (registry.enabled) and the
       recorder (recorder.importSignatures): where registries.d and the CA files are mounted,
       insecure hosts, the webhook's own pull secret. */ -}}
{{- define "sigpolicy.registryInUse" -}}
{{- if or .Values.registry.enabled (and .Values.recorder.enabled .Values.recorder.importSignatures) }}true{{ end }}
{{- end }}

{{- define "sigpolicy.registryFileArgs" -}}
{{- with .Values.registry }}
{{- if .registriesD }}
- --registries-d=/etc/sigpolicy/registries.d
{{- end }}
{{- if .caCertificates }}
- --cert-dir=/etc/sigpolicy/certs.d
{{- end }}
{{- range .insecureRegistries }}
- --insecure-registry={{ . }}
{{- end }}
{{- if .pullSecret }}
- --pull-secret={{ .pullSecret }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sigpolicy.registryMounts" -}}
{{- if .Values.registry.registriesD }}
- name: registries-d
  mountPath: /etc/sigpolicy/registries.d
  readOnly: true
{{- end }}
{{- if .Values.registry.caCertificates }}
- name: registry-certs
  mountPath: /etc/sigpolicy/certs.d
  readOnly: true
{{- end }}
{{- end }}

{{- define "sigpolicy.registryVolumes" -}}
{{- if .Values.registry.registriesD }}
- name: registries-d
  configMap:
    name: {{ include "sigpolicy.child" (list . "registries") }}
    items:
      {{- range $name, $_ := .Values.registry.registriesD }}
      - key: {{ $name }}
        path: {{ $name }}
      {{- end }}
{{- end }}
{{- if .Values.registry.caCertificates }}
- name: registry-certs
  configMap:
    name: {{ include "sigpolicy.child" (list . "registries") }}
    items:
      {{- range $host, $_ := .Values.registry.caCertificates }}
      - key: {{ replace ":" "_" $host }}.crt
        path: {{ $host }}/ca.crt
      {{- end }}
{{- end }}
{{- end }}
