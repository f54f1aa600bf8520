"""From workloads to image references, and references to exact images (SEMANTICS.md §6)."""
