"""Test-only services that exercise the chassis before the domain services exist."""

PROBE = "guichet_probe.service:ProbeService"
LISTENER = "guichet_probe.service:ProbeListenerService"
PROBE_APP = "guichet_probe.service:ProbeAppService"
