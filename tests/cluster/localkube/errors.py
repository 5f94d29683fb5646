"""One error type whose message says what is wrong and what to do."""


class ClusterError(RuntimeError):
    """The local cluster could not be built or started; the message names the fix."""
