"""Pipelines as data: which stages run, with which models and thresholds."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagger.errors import InputError
from tagger.settings import from_table, key_lines

PIPELINE_DIR = Path(__file__).resolve().parents[1] / "pipelines"


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    path: str
    taxonomy: str
    stages: tuple[str, ...]
    settings: dict[str, Any]   # stage name -> that stage's Settings dataclass

    def describe(self) -> dict:
        """The exact stages and settings, as recorded with every run."""
        return {"name": self.name, "path": self.path, "taxonomy": self.taxonomy,
                "stages": list(self.stages),
                "settings": {name: dataclasses.asdict(s) for name, s in self.settings.items()}}

    @property
    def digest(self) -> str:
        text = json.dumps({k: v for k, v in self.describe().items() if k != "path"},
                          sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def available_pipelines() -> list[str]:
    return sorted(p.stem for p in PIPELINE_DIR.glob("*.toml"))


def resolve_pipeline_path(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise InputError(candidate, "pipeline file not found")
        return candidate
    path = PIPELINE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise InputError(None, f"unknown pipeline {str(name_or_path)!r} "
                               f"(valid: {', '.join(available_pipelines())}, or a path to a .toml file)")
    return path


def load_pipeline(name_or_path: str | Path) -> Pipeline:
    from tagger.stages import STAGES, stage_class

    path = resolve_pipeline_path(name_or_path)
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(path, f"invalid TOML: {error}") from None
    lines = key_lines(text)

    def problem(reason: str, key: str) -> InputError:
        return InputError(path, reason, line=lines.get((key,)), field=key)

    top = {"name", "description", "taxonomy", "stages"}
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages or not all(isinstance(s, str) for s in stages):
        raise problem("expected a non-empty list of stage names", "stages")
    for key in data:
        if key not in top and key not in STAGES:
            raise problem(f"unknown key (valid: {', '.join(sorted(top))}, "
                          f"or a table named after a stage: {', '.join(STAGES)})", key)
    settings = {}
    for position, name in enumerate(stages):
        if name not in STAGES:
            raise problem(f"unknown stage {name!r} (valid: {', '.join(STAGES)})", "stages")
        cls = stage_class(name)
        missing = [need for need in cls.needs if need not in stages[:position]]
        if missing:
            raise problem(f"stage {name!r} needs {', '.join(missing)} before it", "stages")
        settings[name] = from_table(cls.Settings, data.get(name, {}), path=path, item=f"[{name}]",
                                    text=text, at=(name,))
    unused = [key for key in data if key in STAGES and key not in stages]
    if unused:
        raise problem("settings for a stage that is not in `stages`", unused[0])
    return Pipeline(name=str(data.get("name", path.stem)), description=str(data.get("description", "")),
                    path=str(path), taxonomy=str(data.get("taxonomy", "default")),
                    stages=tuple(stages), settings=settings)
