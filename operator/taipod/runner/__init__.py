"""The runner: runs one task of a scenario inside its task pod (decisions, "Data nodes" and "Task functions").

The operator describes the task in the environment variable ``TAIPOD_TASK`` (see ``taipod.runner.task``). The runner
loads the function, reads the inputs, calls the function and writes the outputs like Taipy (semantics.md §4.5), then
reports through its exit code and its termination message (``taipod.runner.message``); it never writes custom
resources. Run it as ``python -m taipod.runner``.
"""
