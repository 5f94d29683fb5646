"""``import taipod`` stays light: the runner imports it in every task pod."""

from __future__ import annotations

import subprocess
import sys


def test_import_taipod_does_not_load_the_sdk() -> None:
    code = (
        "import sys, taipod; "
        "heavy = [m for m in ('taipod.sdk', 'kubernetes', 'pydantic', 'cloudpickle', 'kopf') if m in sys.modules]; "
        "print('loaded=' + ','.join(heavy)); print(taipod.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "loaded=", f"import taipod loaded {out[0]}"
    assert out[1].count(".") == 2


def test_from_taipod_import_config_loads_the_sdk_on_demand() -> None:
    code = "from taipod import Config; import taipod as tp; print(Config.__module__, tp.get_jobs.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["taipod.sdk.config", "taipod.sdk.jobs"]


def test_the_lazy_names_are_exactly_the_sdks() -> None:
    """``taipod/__init__.py`` lists the SDK's names statically (type checkers need the literal list and the
    TYPE_CHECKING import); this keeps the two lists, and that import, equal to ``taipod.sdk.__all__``."""
    import ast
    from pathlib import Path

    import taipod
    import taipod.sdk

    assert set(taipod.__all__) - {"__version__"} == set(taipod.sdk.__all__)
    tree = ast.parse(Path(taipod.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "taipod.sdk"
        for alias in node.names
    }
    assert imported == set(taipod.sdk.__all__)
