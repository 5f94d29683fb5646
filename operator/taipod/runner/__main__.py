"""``python -m taipod.runner``: the task pod's entry point."""

from taipod.runner.main import main

raise SystemExit(main())
