"""Titles analysed one after another in this process."""
from __future__ import annotations

from typing import Iterator

from tagger.catalog.records import TitleResult
from tagger.executors.base import Executor, analyse_title
from tagger.titles import TitleInput


PREPARE_BATCH = 64   # titles whose batchable work (synopsis embeddings) runs in one call


class InlineExecutor(Executor):
    name = "inline"

    def __init__(self, pipeline, *, taxonomy=None, workers=None, on_stage=None):
        super().__init__(pipeline, taxonomy=taxonomy, workers=workers, on_stage=on_stage)
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from tagger.engine import Engine

            self._engine = Engine(self.pipeline, taxonomy=self.taxonomy)
        return self._engine

    def engine_info(self) -> dict:
        return self.engine.info()

    def map(self, titles: list[TitleInput]) -> Iterator[tuple[int, TitleResult]]:
        for position, title in enumerate(titles):
            if position % PREPARE_BATCH == 0:
                self.engine.prepare(titles[position:position + PREPARE_BATCH])
            on_stage = None
            if self.on_stage is not None:
                on_stage = lambda stage, title_id=title.id: self.on_stage(title_id, stage)  # noqa: E731
            yield position, analyse_title(self.engine, title, on_stage)
