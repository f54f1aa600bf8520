"""The cluster source, the fake API server it is tested against, and leader election."""
