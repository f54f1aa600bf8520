"""The cluster source's tests use the suite-wide fixtures of tests/conftest.py."""
