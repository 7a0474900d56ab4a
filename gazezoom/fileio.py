"""Small file helpers shared by every stage that writes what a user must not lose (profiles, sidecars)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text", "file_sha256", "gaze_model_identity", "writable_dir", "os_error_message", "REPO_ROOT",
           "WEIGHTS_DIR"]

#: The repository (or source tree) gazezoom runs from; what ships lives beside the package.
REPO_ROOT = Path(__file__).resolve().parents[1]
#: The shipped model files: the MediaPipe face landmarker and the gaze weights (see weights/DATA_CARD.md).
WEIGHTS_DIR = REPO_ROOT / "weights"


def atomic_write_text(path: str | os.PathLike, text: str, *, mode: int = 0o644) -> Path:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, fsync, then ``os.replace``.

    An interrupted write leaves the previous file untouched and no temporary file behind. ``mode`` is applied to
    the new file (``mkstemp`` would leave it private).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> atomic_write_text(p, "{}\\n").read_text()
    '{}\\n'
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks). Raises ``OSError`` as ``open`` does."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gaze_model_identity(weights_file: str | os.PathLike) -> str:
    """``"<weights stem>@<sha256 prefix>"``, e.g. ``"gaze_sampler_P@3f2a9c01d4e5"``: what a profile records as
    ``gaze_model`` (and a table's sidecar, through :func:`gazezoom.models.stages.stage_identity`). Any change of the
    weights (retraining) changes it. It lives beside :func:`file_sha256` so that models and calibration both use it
    without importing each other; :mod:`gazezoom.calibration.profile` re-exports it."""
    from .errors import ProfileError

    p = Path(weights_file)
    try:
        digest = file_sha256(p)
    except OSError as err:
        raise ProfileError(f"cannot hash gaze weights {p} for the profile's model identity: {err}") from None
    return f"{p.stem}@{digest[:12]}"


def os_error_message(err: OSError, what: str = "file", path: str | os.PathLike | None = None) -> str:
    """One line for a failed read/write that names the file and the reason, e.g. ``cannot write output folder
    /x/y: Not a directory``; the caller adds what to do."""
    where = path if path is not None else err.filename
    reason = err.strerror or type(err).__name__
    return f"cannot write {what}" + (f" {where}" if where is not None else "") + f": {reason}"


def writable_dir(folder: str | os.PathLike, what: str = "output folder", hint: str = "") -> Path:
    """Create ``folder`` (with parents) and check a file can be written in it; raise :class:`MediaError` naming the
    folder and ``hint`` (what to do) otherwise. Call it before long work so an unwritable output fails at once."""
    from .errors import MediaError

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise MediaError(f"cannot write to {what} {folder}: it is a file, not a folder; "
                         f"{hint or 'choose a folder you can write to'}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".gazezoom-write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise MediaError(f"cannot write to {what} {folder}: {err.strerror or type(err).__name__}; "
                         f"{hint or 'choose a folder you can write to'}") from None
    return folder
