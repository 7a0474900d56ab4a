"""Weights on disk: a safetensors state dict plus a JSON sidecar that carries the preprocessing.

``weights/gaze_<slug>.safetensors`` holds the tensors; ``weights/gaze_<slug>.json`` holds the variant, input sizes,
normalisation, sampler settings, gazezoom version, training config, seed, step and held-out figures. Loading checks
the sidecar against what the caller expects and raises :class:`~gazezoom.errors.WeightsMismatchError` naming each
difference. Resumable training state (optimizer, step) is a separate ``.state.pt`` of plain tensors and dicts,
read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..errors import ModelFileError, WeightsMismatchError
from ..fileio import atomic_write_text
from ..geometry import REGION_MM
from .variants import GazeNet, ModelConfig, resolve_variant, variant_slug

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "weights_path",
    "save_weights",
    "read_sidecar",
    "load_weights",
    "save_train_state",
    "load_train_state",
    "torch_save_atomic",
]

FORMAT = "gazezoom-gaze-weights"
FORMAT_VERSION = 1


def weights_path(folder: str | Path, variant: str) -> Path:
    """``folder / gaze_<slug>.safetensors`` for a variant name or alias."""
    return Path(folder) / f"gaze_{variant_slug(resolve_variant(variant))}.safetensors"


def _paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".safetensors", ".json") else p
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def save_weights(
    model: GazeNet,
    path: str | Path,
    *,
    step: int = 0,
    training: dict | None = None,
    heldout: dict | None = None,
) -> tuple[Path, Path]:
    """Write ``<stem>.safetensors`` and ``<stem>.json`` for ``model``; returns both paths."""
    from safetensors.torch import save_file

    st, js = _paths(path)
    st.parent.mkdir(parents=True, exist_ok=True)
    cfg = model.config
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(st), metadata={"format": FORMAT, "variant": cfg.variant})
    side: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gazezoom_version": __version__,
        "variant": cfg.variant,
        "config": cfg.to_dict(),
        "input": {
            "what": "normalised eye region of a LEFT eye (right eyes mirrored), see docs/architecture.md",
            "region_mm": list(REGION_MM),
            "region_size": list(cfg.region_size),
            "color": "RGB",
            "range": [0.0, 1.0],
            "mean": list(cfg.mean),
            "std": list(cfg.std),
            "task_input_size": list(cfg.input_size),
        },
        "output": "pitch, yaw (radians) of the population-mean visual axis in normalised eye space",
        "sampler": model.front.sampler.config() if hasattr(model.front, "sampler") else None,
        "step": int(step),
        "training": training or {},
        "heldout": heldout or {},
    }
    atomic_write_text(js, json.dumps(side, indent=2, sort_keys=True) + "\n")  # a cut-off write keeps the old sidecar
    return st, js


def read_sidecar(path: str | Path) -> dict:
    """The JSON sidecar of a weights file (``.safetensors``, ``.json`` or the common stem)."""
    _, js = _paths(path)
    if not js.is_file():
        raise ModelFileError(f"weights sidecar {js} not found; every gaze weights file needs its .json beside it "
                             f"(re-run `gazezoom train` or copy both files)")
    try:
        side = json.loads(js.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ModelFileError(f"weights sidecar {js} is not valid JSON ({err}); re-create it with `gazezoom train`") from err
    if side.get("format") != FORMAT or "config" not in side:
        raise ModelFileError(f"{js} is not a gazezoom gaze-weights sidecar (format {side.get('format')!r})")
    if side.get("format_version", 0) > FORMAT_VERSION:
        raise WeightsMismatchError(
            f"{js} has format_version {side['format_version']}, this gazezoom ({__version__}) reads up to "
            f"{FORMAT_VERSION}; upgrade gazezoom"
        )
    return side


def load_weights(
    path: str | Path,
    *,
    variant: str | None = None,
    expect: dict | None = None,
    device: str | torch.device = "cpu",
) -> GazeNet:
    """Rebuild the model a weights file was trained as and load its tensors (eval mode).

    ``variant``: the variant the caller wants (alias accepted); ``expect``: ``ModelConfig`` fields that must match
    (e.g. ``{"patch": (24, 40)}``). Any difference raises :class:`WeightsMismatchError` listing the fields.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    st, js = _paths(path)
    if not st.is_file():
        raise ModelFileError(f"gaze weights {st} not found; train them with `gazezoom train` or pass --weights DIR")
    side = read_sidecar(js)
    try:
        cfg = ModelConfig.from_dict(side["config"])
    except Exception as err:  # noqa: BLE001 - any malformed config is a file problem
        raise ModelFileError(f"{js}: malformed model config ({err})") from err
    if variant is not None and resolve_variant(variant) != cfg.variant:
        raise WeightsMismatchError(f"{st} holds variant {cfg.variant!r}, not {resolve_variant(variant)!r}")
    diffs = []
    for key, want in (expect or {}).items():
        have = getattr(cfg, key, None)
        want = tuple(want) if isinstance(want, list) else want
        if have != want:
            diffs.append(f"{key}: file has {have!r}, expected {want!r}")
    if diffs:
        raise WeightsMismatchError(f"{st} does not match the requested settings: " + "; ".join(diffs))
    try:
        tensors = load_file(str(st))
    except (SafetensorError, OSError) as err:
        raise ModelFileError(f"gaze weights {st} are unreadable ({err}); re-train or re-copy them") from err
    model = GazeNet(cfg)
    missing, unexpected = _diff_keys(model.state_dict(), tensors)
    if missing or unexpected:
        raise WeightsMismatchError(
            f"{st} does not fit variant {cfg.variant!r}: missing {missing[:5]}, unexpected {unexpected[:5]}"
            f"{' …' if len(missing) > 5 or len(unexpected) > 5 else ''}"
        )
    shapes = [k for k, v in model.state_dict().items() if tuple(v.shape) != tuple(tensors[k].shape)]
    if shapes:
        k = shapes[0]
        raise WeightsMismatchError(
            f"{st}: tensor {k} has shape {tuple(tensors[k].shape)}, the model needs "
            f"{tuple(model.state_dict()[k].shape)} ({len(shapes)} tensors differ)"
        )
    model.load_state_dict(tensors)
    model.sidecar = side  # what the file says about itself (training config, held-out figures)
    return model.to(device).eval()


def _diff_keys(want: dict, have: dict) -> tuple[list[str], list[str]]:
    return sorted(set(want) - set(have)), sorted(set(have) - set(want))


def torch_save_atomic(obj: dict, path: str | Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename: an interrupted run never leaves a half-written
    file. ``obj`` holds tensors, numbers, strings, lists and dicts only, so ``torch.load(weights_only=True)`` reads it."""
    import os
    import uuid

    path = Path(path)
    # A name of its own per writer: processes that write the same file at once (e.g. every torchrun rank rendering
    # one cache) must not rename each other's half-written file; the last complete one wins.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        torch.save(obj, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_train_state(path: str | Path, state: dict) -> None:
    """Resumable training state: a dict of tensors, numbers, strings, lists and dicts only (no pickled objects)."""
    torch_save_atomic(state, path)


def load_train_state(path: str | Path) -> dict:
    """Read what :func:`save_train_state` wrote (``weights_only=True``: nothing but plain data is unpickled)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"training state {path} not found; start without --resume")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a foreign or corrupt file
        raise ModelFileError(f"training state {path} is unreadable ({err}); start without --resume") from err
