//go:build tools

// Package tools pins the upstream kubelet, which the opt-in real node of the local cluster runs (with Debian's
// containerd and runc). Its own module and cache folder, so the control plane's cache key is unchanged.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubelet"
)
