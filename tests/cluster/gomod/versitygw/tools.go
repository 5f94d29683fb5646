//go:build tools

// Package tools pins versitygw, the S3 server the local cluster starts as its data plane (Apache-2.0, posix
// backend). Built into the binary cache like the control plane; never shipped.
package tools

import (
	_ "github.com/versity/versitygw/cmd/versitygw"
)
