"""A node that runs pods as local processes (local-cluster.md §4). Imports nothing heavy:
the in-namespace shim runs as ``python -S -m localkube.nodeagent.shim``."""
