// The pod sandbox's pause program for the local cluster's real node: a static binary in an image FROM scratch,
// built here because no registry with the upstream pause image is reachable (see tests/cluster/README.md).
module taipod.local/pause

go 1.26.0
