"""Scripts under benchmarks/ as modules, for tests of the recipes they hold (they are scripts,
not part of the package)."""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@functools.cache
def load_benchmark(name: str):
    """benchmarks/<name>.py as a module, loaded once per test process."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
