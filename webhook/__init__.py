"""The admission webhook: sigpolicy's decisions served over HTTPS to the API server.

- :mod:`webhook.app`: the FastAPI application (``/validate``, ``/mutate``, ``/healthz``,
  ``/readyz``, ``/metrics``) over one :class:`~webhook.state.WebhookState`;
- :mod:`webhook.answer`: one AdmissionReview body in, one full AdmissionReview out;
- :mod:`webhook.runtime`: the policy, trust store and source a webhook decides with;
- :mod:`webhook.tls`: certificates reloaded without a restart, and self-signed ones;
- :mod:`webhook.server`: uvicorn on a bound socket; the body of ``sigpolicy serve``.

This package depends on :mod:`sigpolicy`, never the reverse (ARCHITECTURE.md, layers).
"""
