"""A real local Kubernetes control plane for taipod's tests, without Docker.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are built from the
official Go modules (``build``), started on loopback ports (``cluster``), and joined by a
node agent that runs pods as local processes (``nodeagent``). See tests/cluster/README.md.
"""
