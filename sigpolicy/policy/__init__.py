"""The cluster-wide image policy: scopes, requirements, modes, exemptions and decisions.

Two formats load into one engine (:mod:`.load` tells them apart by content): the project's
YAML policy (``docs/policy.md``) and containers-policy.json(5).
"""
