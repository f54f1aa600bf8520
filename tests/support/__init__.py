"""Helpers shared by the whole test suite (real tools, fresh keys, no committed secrets)."""
