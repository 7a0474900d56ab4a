"""Stable face ids and the choice of the primary user.

Detections are matched to the tracks of earlier frames by bounding-box overlap (greedy, highest IoU first). The
primary user is chosen once — the largest, most central face — and kept while its track lives, so a passer-by
never takes over; only after the primary has been gone for ``max_missing`` frames is a new one chosen.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputValueError, ShapeError

__all__ = ["iou", "primary_score", "dedupe", "FaceTracker"]


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes ``a (N, 4)`` and ``b (M, 4)`` (x0, y0, x1, y1) → ``(N, M)``.

    >>> iou(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2], [5, 5, 6, 6]])).round(3).tolist()
    [[0.333, 0.0]]
    """
    a = np.asarray(a, float).reshape(-1, 4)[:, None]
    b = np.asarray(b, float).reshape(-1, 4)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def primary_score(boxes: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """``boxes (N, 4)`` → ``(N,)`` area fraction × centrality (1 at the frame centre, 0 at a corner)."""
    H, W = frame_size
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / float(H * W)
    centre = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2 - (W - 1) / 2, (boxes[:, 1] + boxes[:, 3]) / 2 - (H - 1) / 2], 1)
    centrality = 1.0 - np.clip(np.linalg.norm(centre, axis=1) / (0.5 * np.hypot(W, H)), 0, 1)
    return area * centrality


def dedupe(boxes: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Indices of ``boxes (N, 4)`` to keep when two detections cover one face (keep the larger)."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    order = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), kind="stable")
    keep: list[int] = []
    for i in order:
        if not keep or iou(boxes[i : i + 1], boxes[keep]).max() < threshold:
            keep.append(int(i))
    return np.array(sorted(keep), int)


class FaceTracker:
    """``update(boxes (N, 4), frame_size) -> (ids (N,), primary index or None)``.

    ``min_iou``: overlap needed to continue a track; ``max_missing``: frames a track survives unseen.
    """

    def __init__(self, min_iou: float = 0.3, max_missing: int = 15):
        if not 0 < min_iou <= 1 or max_missing < 0:
            raise InputValueError(f"need 0 < min_iou <= 1 and max_missing >= 0, got {min_iou}, {max_missing}")
        self.min_iou, self.max_missing = min_iou, max_missing
        self.reset()

    def reset(self) -> None:
        self._tracks: dict[int, tuple[np.ndarray, int]] = {}  # id → (last box, frames missing)
        self._next_id = 1
        self.primary_id: int | None = None

    def live_ids(self) -> list[int]:
        """Ids of every live track: seen in the last frame or missing for at most ``max_missing`` frames."""
        return list(self._tracks)

    def update(self, boxes: np.ndarray, frame_size: tuple[int, int]) -> tuple[np.ndarray, int | None]:
        boxes = np.asarray(boxes, float)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ShapeError("boxes", "(N, 4)", boxes.shape)
        ids = np.full(len(boxes), -1, int)
        track_ids = list(self._tracks)
        if track_ids and len(boxes):
            overlap = iou(boxes, np.stack([self._tracks[t][0] for t in track_ids]))
            for flat in np.argsort(-overlap, axis=None, kind="stable"):
                i, j = divmod(int(flat), len(track_ids))
                if overlap[i, j] < self.min_iou:
                    break
                if ids[i] < 0 and track_ids[j] not in ids:
                    ids[i] = track_ids[j]
        for i in np.flatnonzero(ids < 0):
            ids[i] = self._next_id
            self._next_id += 1
        seen = set(ids.tolist())
        tracks = {t: (box, missing + 1) for t, (box, missing) in self._tracks.items() if t not in seen and missing < self.max_missing}
        tracks.update({int(t): (b, 0) for t, b in zip(ids, boxes)})
        self._tracks = tracks
        if self.primary_id not in self._tracks:
            self.primary_id = None
        if self.primary_id is None and len(boxes):
            self.primary_id = int(ids[int(np.argmax(primary_score(boxes, frame_size)))])
        hit = np.flatnonzero(ids == self.primary_id)
        return ids, (int(hit[0]) if len(hit) else None)
