"""What results depend on, known without loading it: library versions as `import x;
x.__version__` gives them, without importing x (the engine's digest is computed before any
title, and importing torch or transformers takes seconds), and the sha256 of files."""
from __future__ import annotations

import ast
import hashlib
import sys
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path


def module_version(module: str, distribution: str | None = None) -> str:
    """`module.__version__`: from the module if it is imported, else from its own version.py
    where it keeps one (torch's holds the local build tag, which the package metadata lacks),
    else from the metadata of `distribution` (default: the module's name)."""
    if module in sys.modules and hasattr(sys.modules[module], "__version__"):
        return str(sys.modules[module].__version__)
    spec = find_spec(module)
    if spec is not None and spec.origin:
        version_file = Path(spec.origin).parent / "version.py"
        if version_file.is_file():
            for node in ast.parse(version_file.read_text()).body:
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__version__":
                    try:
                        return str(ast.literal_eval(node.value))
                    except ValueError:
                        break
    return metadata.version(distribution or module)


def file_sha256(path: str | Path, *, salt: bytes = b"") -> str:
    """sha256 hex of `salt` followed by the file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256(salt)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
