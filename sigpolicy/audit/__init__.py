"""Auditing running workloads against a policy, as the admission webhook would decide them."""
