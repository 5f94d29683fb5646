"""The `taipod` command and its `kubectl taipod` plugin form."""
