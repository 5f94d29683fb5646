"""taipod's benchmark suite (issue 6): step latency, throughput against plain Jobs, scale, SDK listing.

Not part of the test run (no ``test_*`` files): ``make bench`` or ``python -m tests.bench --help``. It starts its own
local cluster in a temporary folder, runs the operator as a separate process so that its memory and CPU can be read
from /proc, and prints one table of figures against the targets of the issue.
"""
