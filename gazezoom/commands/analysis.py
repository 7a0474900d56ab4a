"""``gazezoom process --events / --figures``: what runs on each finished table after the frames are processed.

Kept out of :mod:`gazezoom.commands.process` so that the per-frame loop stays as it is: this reads every complete table
back from disk (so ``--resume``\\ d and ``--workers`` runs work the same way), detects its eye-movement events
(:mod:`gazezoom.io.events`, pymovements imported only here) and draws its figures (:mod:`gazezoom.io.figures`).
Command-side code (options and the post-processing step of ``process``), so it lives with the commands; ``io``
keeps the readers, tables and writers it uses.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import GazezoomError, InputValueError

__all__ = ["Analysis", "add_arguments"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``process`` that belong to this module."""
    g = parser.add_argument_group("eye-movement events and figures")
    g.add_argument("--events", action="store_true", help="also write <name>.events.csv (.jsonl with --format jsonl): "
                   "fixations, saccades (I-VT, pymovements) and blinks (front-end flags), with a .meta.json of the "
                   "parameters and what the frame rate can resolve; videos only; with --all-faces: the primary "
                   "face's rows only")
    g.add_argument("--figures", action="store_true", help="also draw <name>.heatmap.png and <name>.scanpath.png "
                   "(screen pixels with --profile, gaze angles without; the primary face's)")
    g.add_argument("--ivt-threshold", type=float, default=None, metavar="DEG_S", help="I-VT velocity threshold in "
                   "deg/s (default: max(30, 3 x the recording's velocity noise); 30 is Tobii's default)")
    g.add_argument("--min-fixation-ms", type=float, default=100.0, metavar="MS",
                   help="shortest fixation kept, in ms (default 100)")


@dataclass(frozen=True)
class Analysis:
    events: bool
    figures: bool
    threshold_deg_s: float | None
    min_fixation_ms: float

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Analysis | None":
        """The checked options, or None when neither ``--events`` nor ``--figures`` was given."""
        thr, min_fix = getattr(args, "ivt_threshold", None), getattr(args, "min_fixation_ms", 100.0)
        if thr is not None and not thr > 0:
            raise InputValueError(f"--ivt-threshold must be > 0 deg/s, got {thr}")
        if not min_fix >= 0:
            raise InputValueError(f"--min-fixation-ms must be >= 0, got {min_fix}")
        events, figures = bool(getattr(args, "events", False)), bool(getattr(args, "figures", False))
        return cls(events, figures, thr, min_fix) if events or figures else None

    def run(self, outcomes, settings, screen=None) -> int:
        """Events and figures of every complete table; prints one line per output. Returns 0 or the first error's
        exit code (a table that cannot be analysed does not stop the others). ``screen``: the profile's
        :class:`~gazezoom.calibration.screen.ScreenGeometry` for figures in screen pixels (the command loads the
        profile: io reads and writes files, it does not import calibration), None for gaze angles."""
        from ..io.events import detect_events, events_path, write_events
        from ..io.table import primary_rows, read_table

        code = 0
        for o in outcomes:
            if o.status not in ("complete", "skipped") or not o.table:
                continue
            table = Path(o.table)
            try:
                rows = primary_rows(read_table(table, settings.fmt))  # --all-faces: events of the primary face
                try:
                    det = detect_events(rows, threshold_deg_s=self.threshold_deg_s, min_fixation_ms=self.min_fixation_ms)
                except InputValueError as err:
                    if self.events:
                        raise
                    det = None  # figures of an image set: no times, so no fixations
                    print(f"{o.name}: no events for the scanpath ({err})", file=sys.stderr)
                if self.events:
                    path = write_events(events_path(table, settings.fmt), det, settings.fmt)
                    c, res = det.info["counts"], det.info["resolution"]
                    print(f"{o.name}: {c['fixation']} fixations, {c['saccade']} saccades, {c['blink']} blinks "
                          f"(I-VT {det.info['threshold_deg_s']:.1f} deg/s: saccades >= "
                          f"{res['smallest_saccade_deg']:.1f} deg, fixations >= {res['shortest_fixation_ms']:.0f} ms) "
                          f"-> {path}")
                if self.figures:
                    from ..io.figures import draw_figures

                    paths = draw_figures(rows, det.events if det else [], table, screen, title=o.name)
                    print(f"{o.name}: figures -> {', '.join(str(p) for p in paths)}")
            except GazezoomError as err:
                print(f"{o.name}: events/figures failed: {err}", file=sys.stderr)
                code = code or err.exit_code
        return code
