"""Recorded media in and gaze tables out: readers (videos with container timestamps and rotation, images),
the fixed-schema CSV/JSONL table (:mod:`.table`, importable without Qt or MediaPipe), annotated output
(:mod:`.annotate`) and the ``gazezoom process`` command (:mod:`.process`).

Importing this package imports nothing heavy; import the submodule you need.
"""

__all__ = ["table", "readers", "annotate", "process"]
