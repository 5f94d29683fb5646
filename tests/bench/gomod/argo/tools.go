//go:build tools

// Package tools pins the upstream Argo Workflows controller that this module builds: a benchmark peer, never shipped.
package tools

import _ "github.com/argoproj/argo-workflows/v4/cmd/workflow-controller"
