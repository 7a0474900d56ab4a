"""Reading recorded media: videos with their real container timestamps and rotation, images, folders of them.

* :class:`VideoReader` — OpenCV (FFmpeg) decoding; ``time_s`` of each frame is the container's presentation time
  (``CAP_PROP_POS_MSEC`` after the frame is grabbed), so variable-frame-rate files keep their real times; the
  rotation metadata of phone videos is applied (``CAP_PROP_ORIENTATION_AUTO``), frames come out as displayed.
* :class:`ImageSetReader` — a list of still images (EXIF orientation applied by ``cv2.imread``).
* :func:`collect_jobs` — command-line inputs (files, folders) → one :class:`Job` per video and per group of images.

Every problem is a :class:`MediaError` that names the file and says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MediaError

__all__ = [
    "VIDEO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "MediaInfo",
    "Frame",
    "VideoReader",
    "ImageSetReader",
    "Job",
    "collect_jobs",
    "media_kind",
    "open_reader",
    "TRUNCATION_TOLERANCE",
]

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts", ".mts", ".m2ts", ".ogv"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".pgm", ".ppm", ".pbm"})

#: A video that ends more than this many frames (or this fraction of its listed frames, whichever is larger) before
#: the count its container lists is reported as truncated. Containers with edit lists legitimately list a few
#: frames more than they play (``../shared/media/no_face.mp4`` lists 98 and plays 95).
TRUNCATION_TOLERANCE = (5, 0.05)


def media_kind(path: str | os.PathLike) -> str:
    """``"video"``, ``"image"`` or ``"other"`` from the file suffix (content is checked when the file is opened)."""
    s = Path(path).suffix.lower()
    return "video" if s in VIDEO_SUFFIXES else "image" if s in IMAGE_SUFFIXES else "other"


@dataclass(frozen=True)
class MediaInfo:
    """What a reader knows before decoding. ``frame_count`` is what the container lists (-1 when unknown);
    ``width``/``height`` are as displayed (after rotation); ``rotation_deg`` is the applied rotation metadata."""

    path: str
    kind: str  # "video" or "images"
    width: int
    height: int
    fps: float
    frame_count: int
    rotation_deg: int = 0
    codec: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: ``index`` (position in the file or image list), ``time_s`` (container time; None for
    stills), ``image (H, W, 3)`` uint8 BGR or None when the caller asked to skip it, ``source`` (image file name)."""

    index: int
    time_s: float | None
    image: np.ndarray | None
    source: str | None = None


def _fourcc(v: float) -> str:
    n = int(v)
    s = "".join(chr((n >> (8 * i)) & 0xFF) for i in range(4))
    return s if s.isprintable() else ""


class VideoReader:
    """Sequential decoding of one video file.

    >>> VideoReader("missing.mp4")
    Traceback (most recent call last):
    ...
    gazezoom.errors.MediaError: video file not found: missing.mp4
    """

    def __init__(self, path: str | os.PathLike):
        import cv2

        self.path = Path(path)
        if not self.path.exists():
            raise MediaError(f"video file not found: {self.path}")
        if self.path.is_dir():
            raise MediaError(f"{self.path} is a folder, not a video")
        if self.path.stat().st_size == 0:
            raise MediaError(f"{self.path} is empty (0 bytes); it holds no video")
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise MediaError(
                f"cannot open {self.path} as a video: it is not a video FFmpeg can read, or it is truncated or corrupt "
                "(an MP4/MOV whose index sits at the end loses it when the file is cut); check the file plays in a "
                "media player, or re-export it"
            )
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # frames come out as displayed (phone videos)
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w <= 0 or h <= 0:
            cap.release()
            raise MediaError(f"{self.path} has no video stream (frame size {w}x{h}); is it an audio file?")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.info = MediaInfo(
            path=str(self.path),
            kind="video",
            width=w,
            height=h,
            fps=float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
            frame_count=count if count > 0 else -1,
            rotation_deg=int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360,
            codec=_fourcc(cap.get(cv2.CAP_PROP_FOURCC)),
        )
        self._cap = cap
        self.decoded = 0  # frames decoded (grabbed) so far
        self.backward_times = 0  # frames whose container time did not increase

    def frames(self, wanted: Callable[[int], bool] | None = None, *, stop_after: int | None = None) -> Iterator[Frame]:
        """Every frame in order. ``wanted(index)`` False skips colour conversion of that frame (``image=None``; it
        is still decoded, which keeps exact container times and frame indices). ``stop_after``: last index to read.

        Raises :class:`MediaError` when the file yields no frame at all, or ends well before the frame count its
        container lists (truncated or corrupt) — after yielding every frame that could be decoded.
        """
        cap, cv2 = self._cap, _cv2()
        index, last_t = 0, -np.inf
        while stop_after is None or index <= stop_after:
            if not cap.grab():
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1e3
            if not t > last_t:
                self.backward_times += 1
            last_t = max(last_t, t)
            self.decoded = index + 1
            image = None
            if wanted is None or wanted(index):
                ok, image = cap.retrieve()
                if not ok or image is None:
                    raise MediaError(f"{self.path}: frame {index} was decoded but could not be converted; the file is corrupt")
            yield Frame(index, float(t), image)
            index += 1
        if stop_after is not None and index > stop_after:
            return
        self.check_complete()

    def check_complete(self) -> None:
        """Raise :class:`MediaError` if decoding stopped with no frame or well before the listed frame count."""
        n, listed = self.decoded, self.info.frame_count
        if n == 0:
            raise MediaError(f"{self.path} has zero frames that can be decoded; the file is empty, truncated or corrupt")
        if listed > 0 and listed - n > max(TRUNCATION_TOLERANCE[0], TRUNCATION_TOLERANCE[1] * listed):
            raise MediaError(
                f"{self.path} ended after {n} of the {listed} frames its container lists: the file is truncated or "
                f"corrupt; the {n} frames that could be decoded were processed"
            )

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cv2():
    import cv2

    return cv2


def read_image(path: str | os.PathLike) -> np.ndarray:
    """One still as BGR uint8 ``(H, W, 3)`` (EXIF orientation applied), or :class:`MediaError`."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"image file not found: {path}")
    # imdecode of the bytes: cv2.imread cannot open non-ASCII paths on some platforms.
    data = np.fromfile(str(path), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise MediaError(f"cannot read {path} as an image: it is not an image OpenCV can decode, or it is corrupt")
    return img


class ImageSetReader:
    """Still images processed one by one (``index`` = position in ``paths``). Unreadable images are reported in
    :attr:`errors` and skipped; :meth:`check_complete` raises if any were."""

    def __init__(self, paths: Sequence[str | os.PathLike], name: str = "images"):
        if not paths:
            raise MediaError(f"no images to read for {name!r}")
        self.paths = [Path(p) for p in paths]
        self.name = name
        self.errors: list[str] = []
        self.decoded = 0
        self.info = MediaInfo(path=str(self.paths[0].parent if len(self.paths) > 1 else self.paths[0]), kind="images",
                              width=0, height=0, fps=0.0, frame_count=len(self.paths))

    def frames(self, wanted: Callable[[int], bool] | None = None, *, stop_after: int | None = None) -> Iterator[Frame]:
        for i, p in enumerate(self.paths):
            if stop_after is not None and i > stop_after:
                return
            self.decoded = i + 1
            if wanted is not None and not wanted(i):
                yield Frame(i, None, None, p.name)
                continue
            try:
                img = read_image(p)
            except MediaError as err:
                self.errors.append(str(err))
                continue
            yield Frame(i, None, img, p.name)
        self.check_complete()

    def check_complete(self) -> None:
        if self.errors:
            more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            raise MediaError(f"{len(self.errors)} of {len(self.paths)} images could not be read: {self.errors[0]}{more}")

    def close(self) -> None:
        pass

    def __enter__(self) -> "ImageSetReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------------------- inputs → jobs


@dataclass(frozen=True)
class Job:
    """One output table: a video (``kind="video"``, one path) or a group of images (``kind="images"``)."""

    name: str
    kind: str
    paths: tuple[str, ...]
    error: str | None = None  # set when the input is unusable (missing file …): reported, other jobs go on

    @property
    def label(self) -> str:
        return self.paths[0] if self.kind == "video" or len(self.paths) == 1 else f"{self.name} ({len(self.paths)} images)"


def open_reader(job: Job):
    """The reader of a job (:class:`VideoReader` or :class:`ImageSetReader`)."""
    if job.error:
        raise MediaError(job.error)
    if job.kind == "video":
        return VideoReader(job.paths[0])
    return ImageSetReader(job.paths, job.name)


@dataclass
class _Names:
    used: dict[str, int] = field(default_factory=dict)

    def unique(self, stem: str) -> str:
        n = self.used.get(stem, 0) + 1
        self.used[stem] = n
        return stem if n == 1 else f"{stem}-{n}"


def collect_jobs(inputs: Sequence[str | os.PathLike]) -> list[Job]:
    """Command-line inputs → jobs, in the order given (folders sorted by name, not recursive).

    Each video becomes a job named after its stem; the images of one folder become one job named after the
    folder; image files named on the command line become one job (named after the image when there is one, else
    ``images``). Missing inputs and folders without media become jobs carrying an ``error`` so that one bad input
    does not stop the others. Names are made unique with ``-2``, ``-3`` … in input order.
    """
    names = _Names()
    jobs: list[Job] = []
    loose_images: list[str] = []
    loose_at: int | None = None
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            files = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
            videos = [q for q in files if media_kind(q) == "video"]
            images = [q for q in files if media_kind(q) == "image"]
            for v in videos:
                jobs.append(Job(names.unique(v.stem), "video", (str(v),)))
            if images:
                jobs.append(Job(names.unique(p.resolve().name or "images"), "images", tuple(map(str, images))))
            if not videos and not images:
                jobs.append(Job(names.unique(p.resolve().name or "folder"), "video", (str(p),),
                                error=f"folder {p} holds no videos or images (known suffixes: "
                                      f"{', '.join(sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES))})"))
        elif not p.exists():
            jobs.append(Job(names.unique(p.stem or "input"), "video", (str(p),), error=f"input not found: {p}"))
        elif media_kind(p) == "image":
            if loose_at is None:
                loose_at = len(jobs)
            loose_images.append(str(p))
        else:  # a video, or an unknown suffix: let FFmpeg decide when it is opened
            jobs.append(Job(names.unique(p.stem), "video", (str(p),)))
    if loose_images:
        stem = Path(loose_images[0]).stem if len(loose_images) == 1 else "images"
        jobs.insert(loose_at, Job(names.unique(stem), "images", tuple(loose_images)))
    return jobs
