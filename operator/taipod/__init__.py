"""taipod: Taipy-style scenarios run natively on Kubernetes."""

from taipod._version import __version__

__all__ = ["__version__"]
