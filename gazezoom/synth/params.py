"""Scene parameters of the synthetic eye renderer: the :class:`RenderParams` dataclass and its sampler.

Every random draw happens here, on a CPU ``torch.Generator`` seeded from ``(seed, split)``, so a set is the same
on every device; :meth:`EyeRenderer.render` is a pure function of the parameters.

Units: millimetres in the *head frame* (origin at the eye centre = midpoint of the two eye corners, x towards the
temporal corner = image right, y down, z away from the camera), radians for angles, linear RGB in [0, 1] for
colours. The head frame equals the normalised camera frame when the head residual rotation is zero.

Train/test separation: the two splits draw from disjoint random streams (the split is mixed into the seed), and
the colour and lighting parameters ``iris_tone``, ``skin_tone``, ``light_temp`` and ``light_azimuth`` come from
interleaved, disjoint sub-ranges (:data:`TEST_BANDS`), so the held-out set shows iris colours, skin tones and
lighting never drawn for training while covering the same overall range.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputValueError

__all__ = [
    "RenderParams",
    "sample_params",
    "partner_params",
    "SPLITS",
    "KAPPA_MEAN",
    "GAZE_RANGE_DEG",
    "HEAD_RANGE_DEG",
    "EYE_WIDTH_PX_RANGE",
    "IRIS_TEX",
    "SCLERA_TEX",
    "SKIN_TEX",
    "mix_seed",
    "LID_PROFILES",
    "HEAD_PROFILES",
    "LIGHT_PROFILES",
    "N_CATCHLIGHTS",
    "N_SHADES",
]

SPLITS = ("train", "test")
#: Population-mean angle kappa (pitch, yaw) in radians, added to the optical axis in the head frame to give the
#: visual axis. The visual axis lies ~5° nasal (the left eye's nasal side is the image's left, i.e. +yaw) and
#: ~1.5° above the optical axis (Guestrin & Eizenman 2006). The gaze label is optical axis + KAPPA_MEAN.
KAPPA_MEAN = (math.radians(1.5), math.radians(5.0))
KAPPA_STD = (math.radians(1.0), math.radians(1.5))
#: (pitch, yaw) ranges in degrees of the gaze label relative to the normalised camera.
GAZE_RANGE_DEG = ((-30.0, 25.0), (-35.0, 35.0))
#: (pitch, yaw) half-ranges in degrees of the head residual rotation (what the shipped models were trained on).
HEAD_RANGE_DEG = (10.0, 15.0)
#: Head-residual half-ranges (pitch, yaw) in degrees, per profile. "default" (= HEAD_RANGE_DEG) is what every shipped
#: model was trained on, the residual a poor head-pose estimate leaves; "small" is twice the largest head-pose
#: disagreement measured between the front-end's two estimators (PnP vs MediaPipe: median 1.5°, max 2.5° on
#: single_face.mp4, docs/zoom.md) — a tighter, not a verified, bound on the front-end's real error.
HEAD_PROFILES = {"default": HEAD_RANGE_DEG, "small": (5.0, 5.0)}
EYE_WIDTH_PX_RANGE = (15.0, 200.0)
#: texture sizes (channels, height, width): polar iris (radius × angle), eyeball (polar angle × azimuth),
#: skin (region rows × columns, 30 × 50 mm plus margin).
IRIS_TEX = (3, 24, 128)
SCLERA_TEX = (1, 32, 64)
SKIN_TEX = (3, 48, 80)
#: number of interleaved bands of the banded parameters; band k belongs to the test split when k % 4 == 3.
N_BANDS = 16


def mix_seed(*parts: int) -> int:
    """Mix integers into one well-spread 63-bit seed (numpy ``SeedSequence``).

    >>> mix_seed(0, 1) == mix_seed(0, 1) != mix_seed(1, 0)
    True
    """
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFFFFFFFFFF for p in parts]).generate_state(2, np.uint64)[0] >> 1)


@dataclass(frozen=True, eq=False)
class RenderParams:
    """Everything that defines a batch of ``n`` scenes; every field is a tensor whose first dimension is ``n``.

    Build it with :meth:`EyeRenderer.sample_params`; change fields with ``dataclasses.replace`` (e.g. a fixed
    gaze for a figure). ``params[idx]`` selects samples, ``params.to(device)`` moves every tensor.
    """

    # --- gaze and pose (radians) ---
    gaze: torch.Tensor  # (n, 2) label: population-mean visual axis, pitch/yaw in the normalised camera
    head: torch.Tensor  # (n, 2) head residual pitch/yaw (direction the face points, same convention)
    kappa: torch.Tensor  # (n, 2) this subject's kappa (pitch, yaw): visual = optical + kappa (head frame)
    camera_distance: torch.Tensor  # (n,) mm from the normalised camera to the eye centre
    # --- eye geometry (mm, head frame) ---
    eye_width_mm: torch.Tensor  # (n,) distance between the corners
    canthal_tilt: torch.Tensor  # (n,) how much higher the temporal corner sits than the nasal one
    eyeball_center: torch.Tensor  # (n, 3)
    eyeball_radius: torch.Tensor  # (n,)
    cornea_radius: torch.Tensor  # (n,)
    iris_radius: torch.Tensor  # (n,) = limbus radius
    pupil_frac: torch.Tensor  # (n,) pupil radius / iris radius
    lid_upper: torch.Tensor  # (n, 5) cover of the iris (mm), lid-follows-eye gain, peak shift, peak power, hooding
    lid_lower: torch.Tensor  # (n, 4) gap below the iris (mm), follow gain, peak shift, peak power
    closure: torch.Tensor  # (n,) 0 open … 1 closed (blinks)
    crease: torch.Tensor  # (n, 2) crease height above the lid (mm), crease strength
    brow: torch.Tensor  # (n, 4) lower edge y (mm), thickness (mm), hair density, arch (mm)
    lashes: torch.Tensor  # (n, 3) density, length (mm), lower-lash density
    face_shape: torch.Tensor  # (n, 4) lid bulge, brow ridge, sulcus depth, nose bridge (mm)
    # --- colours (linear RGB) ---
    iris_tone: torch.Tensor  # (n,) banded 0 (blue) … 1 (dark brown)
    iris_colors: torch.Tensor  # (n, 3, 3) base, collarette, fibre highlight
    iris_features: torch.Tensor  # (n, 4) fibre contrast, crypt contrast, limbal ring darkness, collarette radius
    sclera_color: torch.Tensor  # (n, 3)
    vein_strength: torch.Tensor  # (n,)
    skin_tone: torch.Tensor  # (n,) banded 0 (light) … 1 (dark)
    skin_color: torch.Tensor  # (n, 3)
    skin_features: torch.Tensor  # (n, 4) mottling, pore contrast, periorbital darkening, wrinkles/under-eye bags
    hair_color: torch.Tensor  # (n, 3) brows and lashes
    # --- light ---
    light_temp: torch.Tensor  # (n,) banded 0 warm … 1 cool
    light_azimuth: torch.Tensor  # (n,) banded, radians (0 = from the camera side, > 0 from the image right)
    light_dir: torch.Tensor  # (n, 3) unit, towards the light, head frame
    light_color: torch.Tensor  # (n, 3) directional light colour × intensity
    ambient_color: torch.Tensor  # (n, 3)
    screen: torch.Tensor  # (n, 4) reflected screen: brightness, centre pitch, centre yaw, half-size (rad)
    glasses: torch.Tensor  # (n, 6) present (0/1), rim thickness, rim y-scale, reflection strength, x, y of glare
    glasses_color: torch.Tensor  # (n, 3)
    # --- camera ---
    eye_width_px: torch.Tensor  # (n,) eye width in the original frame, pixels
    defocus: torch.Tensor  # (n,) Gaussian sigma, frame pixels
    sharpen: torch.Tensor  # (n,) unsharp-mask amount of the camera's image processing (0 = none)
    motion: torch.Tensor  # (n, 2) motion blur vector, frame pixels (x, y)
    noise: torch.Tensor  # (n, 2) shot-noise gain, read-noise sigma (linear units)
    exposure: torch.Tensor  # (n,) target mean linear luminance
    white_balance: torch.Tensor  # (n, 3) per-channel gains
    awb_strength: torch.Tensor  # (n,) how much of the illuminant's colour the camera's white balance removes
    gamma: torch.Tensor  # (n,)
    jpeg_quality: torch.Tensor  # (n,) 1 … 100
    jpeg_offset: torch.Tensor  # (n, 2) block grid offset, frame pixels (int-valued)
    noise_seed: torch.Tensor  # (n,) int64, seeds the sensor noise drawn at render time
    # --- textures (noise in [-1, 1] or [0, 1]) ---
    iris_tex: torch.Tensor  # (n, 3, 24, 128) radius × angle: fibres, crypts, fine detail
    sclera_tex: torch.Tensor  # (n, 1, 32, 64) polar angle × azimuth around the optical axis: veins
    skin_tex: torch.Tensor  # (n, 3, 48, 80) over the region: mottling, pores, hair strands
    # --- drawn last, so the draws above stay what they were ---
    lid_band: torch.Tensor  # (n, 2) a dark band along the upper lid margin: width (mm), darkness 0..1 (0: none)
    catchlights: torch.Tensor  # (n, K, 5) area lights the cornea reflects: radiance (0: none), centre pitch, centre
    #                            yaw of the reflected direction (rad, head frame), half-width, half-height (rad)
    shades: torch.Tensor  # (n, K, 5) soft elliptic shading blobs over the finished eye: gain (1: none; < 1 shadow,
    #                       > 1 highlight), centre x, y (mm, head frame), half-width, half-height (mm)
    lower_margin: torch.Tensor  # (n, 4) the lower lid's visible margin: width (mm, 0: none), tint gain, tear-film
    #                             line width (mm), its brightness gain

    def __len__(self) -> int:
        return int(self.gaze.shape[0])

    def _map(self, fn) -> "RenderParams":
        return RenderParams(**{f.name: fn(getattr(self, f.name)) for f in dataclasses.fields(self)})

    def to(self, device=None, dtype: torch.dtype | None = None) -> "RenderParams":
        """Move every tensor to ``device``; floating tensors also to ``dtype`` when given."""

        def _to(t: torch.Tensor) -> torch.Tensor:
            if dtype is not None and t.is_floating_point():
                return t.to(device=device, dtype=dtype)
            return t.to(device=device)

        return self._map(_to)

    def __getitem__(self, idx) -> "RenderParams":
        if isinstance(idx, int):
            idx = slice(idx, idx + 1 if idx != -1 else None)
        return self._map(lambda t: t[idx])

    @staticmethod
    def cat(items: "list[RenderParams]") -> "RenderParams":
        """Concatenate parameter sets along the sample dimension."""
        return RenderParams(**{f.name: torch.cat([getattr(p, f.name) for p in items]) for f in dataclasses.fields(RenderParams)})


def _banded(u: torch.Tensor, split: str) -> torch.Tensor:
    """Map uniform ``u ∈ [0, 1)`` into the split's interleaved bands of [0, 1): train owns 3 of every 4 bands.

    >>> u = torch.linspace(0, 0.999, 1000)
    >>> tr, te = _banded(u, "train"), _banded(u, "test")
    >>> bool(((tr * 16).floor() % 4 != 3).all()), bool(((te * 16).floor() % 4 == 3).all())
    (True, True)
    """
    if split == "train":
        k = (u * (N_BANDS * 3 // 4)).floor()  # index among the train bands
        frac = u * (N_BANDS * 3 // 4) - k
        band = k + (k // 3)  # skip every 4th band
    else:
        k = (u * (N_BANDS // 4)).floor()
        frac = u * (N_BANDS // 4) - k
        band = 4 * k + 3
    return ((band + frac) / N_BANDS).clamp(0.0, 1.0 - 1e-6)


def _palette(t: torch.Tensor, colors_srgb: list[tuple[float, float, float]]) -> torch.Tensor:
    """Piecewise-linear colour ramp: ``t (n,) ∈ [0, 1]`` → ``(n, 3)`` linear RGB."""
    pal = torch.tensor(colors_srgb, dtype=torch.float32) ** 2.2  # (k, 3)
    x = t.clamp(0, 1) * (len(colors_srgb) - 1)
    i0 = x.floor().long().clamp(max=len(colors_srgb) - 2)
    f = (x - i0).unsqueeze(-1)
    return pal[i0] * (1 - f) + pal[i0 + 1] * f


def _fractal(g: torch.Generator, n: int, c: int, size: tuple[int, int], octaves: list[tuple[int, int, float]]) -> torch.Tensor:
    """Sum of bilinearly upsampled uniform noise octaves, ``(n, c, *size)``, roughly in [-1, 1].

    ``octaves``: (rows, cols, amplitude) of each coarse noise grid.
    """
    import torch.nn.functional as F

    out = torch.zeros(n, c, *size)
    total = 0.0
    for rows, cols, amp in octaves:
        coarse = torch.rand(n, c, rows, cols, generator=g) * 2 - 1
        out += amp * F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
        total += amp
    return out / total


def _u(g: torch.Generator, n: int, lo: float, hi: float, *shape: int) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, *shape, generator=g)


#: Lid ranges (mm): upper lid's cover of the iris and lower lid's gap below it, per profile. "default" is what every
#: shipped model was trained on; "wide" reaches the lid apertures measured on real faces (aperture / iris diameter
#: 0.47-0.57 on four of the six stills of ../shared/media, docs/zoom.md), which "default" shows in under 10 % of eyes.
#: "real" is "squint" plus a dark band along the upper lid margin (a thick lash line in the lid's shadow, 1-3 mm
#: wide), what narrowed real eyes show above the iris and no other profile renders.
#: "squint" adds what real faces in ../shared/media show most (docs/zoom.md, "Gaze that reads real eyes"): the lower lid
#: pushed up over the iris by the cheek (smiles, squints), up to 4 mm of it covered.
LID_PROFILES = {"default": {"cover": (-0.3, 2.5), "gap": (-1.0, 1.2)},
                "wide": {"cover": (-0.3, 5.0), "gap": (-2.0, 1.2)},
                "squint": {"cover": (-0.3, 5.0), "gap": (-4.0, 1.2)},
                "real": {"cover": (-0.3, 5.0), "gap": (-4.0, 1.2), "band": ((1.0, 3.0), (0.5, 0.95))},
                "free": {"cover": (-0.3, 5.0), "gap": (-4.0, 1.2), "follow": ((0.0, 1.0), (0.0, 1.0))}}
#: How far each lid margin follows the iris vertically (upper, lower), unless a profile says otherwise: real lids
#: follow the gaze (upper ~1:1, lower ~1/3; Ferman et al.). "free" draws both from 0 (a lid fixed to the eyeball)
#: to 1 (a lid that moves with the iris): the aperture's place says little about the iris's, so a pupil locator
#: must find the iris itself rather than infer it from where the lids are (on real faces smiles move them too).
LID_FOLLOW = ((0.75, 1.0), (0.2, 0.45))

#: Area lights (windows, ring lights, softboxes, monitors) the cornea mirrors as *catchlights*, per profile.
#: "default" (what every shipped model was trained on) has none: the only corneal reflections are the point light's
#: glint and a dim screen, so the glint sits where the scene's light puts it. Real photos and webcam frames show
#: large bright catchlights anywhere on the iris, so "catchlights" draws up to :data:`N_CATCHLIGHTS` of them per eye, independent of the gaze: each present with ``p``, a radiance
#: log-uniform in ``radiance`` (0.5 reads as a faint reflection, 4 saturates), its reflected-ray centre anywhere in
#: ``pitch`` × ``yaw`` (deg; 0, 0 is the camera) and a half-size log-uniform in ``size`` (deg).
N_CATCHLIGHTS = 3
#: "clutter" adds, on top of "catchlights", up to :data:`N_SHADES` soft shading blobs anywhere around the eye,
#: independent of the gaze: folds, creases, cast shadows and highlights of real faces (a smile's lower-lid bulge
#: and cheek fold above all), which the learned pupil locator reads as lid contours on real eyes (docs/zoom.md:
#: covering the lower lid and cheek moves its vertical reading most). Each blob is present with ``shade_p``, scales
#: the image under it by a gain log-uniform in ``shade_gain``, sits anywhere in ``shade_x`` × ``shade_y`` (mm from
#: the eye centre) with half-sizes in ``shade_w`` × ``shade_h`` (mm; mostly wide and flat, like folds).
N_SHADES = 4
LIGHT_PROFILES = {"default": {},
                  "catchlights": {"p": 0.55, "radiance": (0.3, 6.0), "pitch": (-25.0, 65.0), "yaw": (-70.0, 70.0),
                                  "size": (2.0, 22.0)}}
LIGHT_PROFILES["clutter"] = {**LIGHT_PROFILES["catchlights"], "shade_p": 0.7, "shade_gain": (0.25, 1.8),
                             "shade_x": (-14.0, 14.0), "shade_y": (-9.0, 9.0), "shade_w": (2.0, 12.0),
                             "shade_h": (0.6, 4.0)}
#: "wet" adds to "clutter" the lower lid's visible margin as real eyes show it (docs/zoom.md, real vs rendered
#: eyes): a 0.4–1.6 mm band of lid-margin tissue below the lower margin, lighter and pinker than the skin, topped by
#: the bright line of the tear film — a "bright below dark" edge that on renders otherwise only the lower limbus
#: (iris above, sclera below) makes.
LIGHT_PROFILES["wet"] = {**LIGHT_PROFILES["clutter"], "margin_p": 0.85, "margin_w": (0.4, 1.6),
                         "margin_gain": (1.0, 1.6), "film_w": (0.12, 0.4), "film_gain": (1.2, 2.6)}
#: "dark" adds to "catchlights" the irises of real webcam frames: dark brown irises at a webcam's exposure read as an
#: almost black disc in which the pupil cannot be told apart (docs/zoom.md: the locator may look for the pupil's
#: dark disc, which on real eyes is the iris with the lid's shadow above it). With ``iris_dark_p`` the iris colours
#: are scaled by a gain log-uniform in ``iris_gain``.
LIGHT_PROFILES["dark"] = {**LIGHT_PROFILES["catchlights"], "iris_dark_p": 0.7, "iris_gain": (0.06, 0.4)}


def _logu(g: torch.Generator, n: int, lo: float, hi: float, *shape: int) -> torch.Tensor:
    """Log-uniform in ``[lo, hi]`` (both > 0), shape ``(n, *shape)``."""
    return torch.exp(_u(g, n, math.log(lo), math.log(hi), *shape))


def _catchlights(g: torch.Generator, n: int, prof: dict) -> torch.Tensor:
    """``(n, N_CATCHLIGHTS, 5)`` catchlights of one :data:`LIGHT_PROFILES` entry (all zero for an empty one)."""
    if not prof:
        return torch.zeros(n, N_CATCHLIGHTS, 5)
    k, d = N_CATCHLIGHTS, math.radians

    present = (torch.rand(n, k, generator=g) < prof["p"]).float()
    radiance = present * _logu(g, n, *prof["radiance"], k)
    (p0, p1), (y0, y1) = prof["pitch"], prof["yaw"]
    pitch, yaw = _u(g, n, d(p0), d(p1), k), _u(g, n, d(y0), d(y1), k)
    half = _logu(g, n, d(prof["size"][0]), d(prof["size"][1]), k)
    aspect = _logu(g, n, 0.4, 2.5, k)  # windows and panels: tall, wide or round
    return torch.stack([radiance, pitch, yaw, half * aspect.sqrt(), half / aspect.sqrt()], -1)


def _shades(g: torch.Generator, n: int, prof: dict) -> torch.Tensor:
    """``(n, N_SHADES, 5)`` shading blobs of one :data:`LIGHT_PROFILES` entry (gain 1, i.e. none, without)."""
    out = torch.zeros(n, N_SHADES, 5)
    out[..., 0] = 1.0
    if "shade_p" not in prof:
        return out
    k = N_SHADES
    present = torch.rand(n, k, generator=g) < prof["shade_p"]
    gain = _logu(g, n, *prof["shade_gain"], k)
    out[..., 0] = torch.where(present, gain, torch.ones_like(gain))
    for i, key in enumerate(("shade_x", "shade_y", "shade_w", "shade_h"), 1):
        out[..., i] = _u(g, n, *prof[key], k)
    return out


def _lower_margin(g: torch.Generator, n: int, prof: dict) -> torch.Tensor:
    """``(n, 4)`` lower-lid margins of one :data:`LIGHT_PROFILES` entry (width 0, i.e. none, without)."""
    if "margin_p" not in prof:
        return torch.zeros(n, 4)
    present = (torch.rand(n, generator=g) < prof["margin_p"]).float()
    return torch.stack([present * _u(g, n, *prof["margin_w"]), _u(g, n, *prof["margin_gain"]),
                        _u(g, n, *prof["film_w"]), _u(g, n, *prof["film_gain"])], -1)


def sample_params(
    n: int, seed: int = 0, split: str = "train", *, lids: str = "default", head: str = "default",
    lights: str = "default",
) -> RenderParams:
    """Draw ``n`` random scenes (CPU tensors). Same ``(n, seed, split, lids, head, lights)`` → the same parameters.

    ``lids`` picks the lid ranges of :data:`LID_PROFILES`, ``head`` the head-residual ranges of
    :data:`HEAD_PROFILES`, ``lights`` the catchlights, shading blobs and lower-lid margins of :data:`LIGHT_PROFILES`;
    the profiles use the same random draws, so a scene differs between them in its lids (the size of its head
    residual, its lights) alone.

    >>> p = sample_params(4, seed=1)
    >>> len(p), tuple(p.iris_tex.shape)
    (4, (4, 3, 24, 128))
    """
    if split not in SPLITS:
        raise InputValueError(f"split must be one of {SPLITS}, got {split!r}")
    if lids not in LID_PROFILES:
        raise InputValueError(f"lids must be one of {sorted(LID_PROFILES)}, got {lids!r}")
    lid_range = LID_PROFILES[lids]
    if head not in HEAD_PROFILES:
        raise InputValueError(f"head must be one of {sorted(HEAD_PROFILES)}, got {head!r}")
    head_pitch, head_yaw = HEAD_PROFILES[head]
    if lights not in LIGHT_PROFILES:
        raise InputValueError(f"lights must be one of {sorted(LIGHT_PROFILES)}, got {lights!r}")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InputValueError(f"n must be a positive int (number of scenes), got {n!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise InputValueError(f"seed must be an int, got {seed!r}")
    n = int(n)
    g = torch.Generator().manual_seed(mix_seed(int(seed), SPLITS.index(split), 0x5EED))
    d = math.radians

    def U(lo, hi, *shape):
        return _u(g, n, lo, hi, *shape)

    # --- gaze and pose ---
    (p0, p1), (y0, y1) = GAZE_RANGE_DEG
    gaze = torch.stack([U(d(p0), d(p1)), U(d(y0), d(y1))], -1)
    head = torch.stack([U(-d(head_pitch), d(head_pitch)), U(-d(head_yaw), d(head_yaw))], -1)
    kappa = torch.tensor(KAPPA_MEAN) + torch.randn(n, 2, generator=g) * torch.tensor(KAPPA_STD)
    camera_distance = U(500.0, 700.0)

    # --- geometry ---
    # corners at u ≈ ±0.51 … ±0.62; the front-end puts real corners at u ≈ −0.55 … +0.51 (media of ../shared)
    eye_width_mm = U(25.5, 31.0)
    canthal_tilt = U(-1.5, 4.0)
    eyeball_radius = U(11.5, 12.5)
    eyeball_center = torch.stack([U(-0.8, 0.8), U(-2.5, 0.5), U(8.5, 11.0)], -1)
    cornea_radius = U(7.5, 8.1)
    iris_radius = U(5.5, 6.2)
    pupil_frac = U(0.2, 0.55)
    follow_u, follow_l = lid_range.get("follow", LID_FOLLOW)
    lid_upper = torch.stack([U(*lid_range["cover"]), U(*follow_u), U(0.8, 1.15), U(0.7, 1.3), U(0.0, 1.0)], -1)
    lid_lower = torch.stack([U(*lid_range["gap"]), U(*follow_l), U(0.95, 1.35), U(0.9, 1.6)], -1)
    blink = torch.rand(n, generator=g) < 0.03
    closure = torch.where(blink, U(0.75, 1.0), U(0.0, 0.55) ** 2)
    crease = torch.stack([U(1.5, 7.0), U(0.0, 1.0)], -1)
    brow = torch.stack([U(-21.0, -12.0), U(4.0, 7.0), U(0.3, 1.0), U(0.5, 3.0)], -1)
    lashes = torch.stack([U(0.4, 1.0), U(1.5, 3.5), U(0.2, 0.7)], -1)
    face_shape = torch.stack([U(2.0, 4.5), U(3.0, 8.0), U(1.0, 4.0), U(2.0, 8.0)], -1)

    # --- colours ---
    iris_tone = _banded(torch.rand(n, generator=g), split)
    iris_base = _palette(iris_tone**0.6, [(0.36, 0.50, 0.62), (0.42, 0.50, 0.46), (0.42, 0.44, 0.26), (0.48, 0.33, 0.17),
                                     (0.33, 0.19, 0.09), (0.18, 0.10, 0.05)])
    iris_base = iris_base * torch.exp(torch.randn(n, 3, generator=g) * 0.12)
    collarette = _palette(U(0.0, 1.0), [(0.55, 0.42, 0.20), (0.40, 0.26, 0.12), (0.25, 0.14, 0.06)])
    collarette = torch.lerp(iris_base, collarette, U(0.0, 0.9).unsqueeze(-1))
    fibre = iris_base * U(1.3, 2.0).unsqueeze(-1) + 0.02
    iris_colors = torch.stack([iris_base, collarette, fibre], 1)
    iris_features = torch.stack([U(0.3, 0.9), U(0.0, 0.6), U(0.2, 0.8), U(0.25, 0.45)], -1)
    sclera_color = _palette(U(0, 1), [(0.86, 0.84, 0.82), (0.84, 0.80, 0.74), (0.82, 0.74, 0.70)])
    sclera_color = sclera_color * U(0.45, 0.8).unsqueeze(-1)
    vein_strength = U(0.0, 0.7)
    skin_tone = _banded(torch.rand(n, generator=g), split)
    skin_color = _palette(skin_tone, [(0.94, 0.78, 0.68), (0.86, 0.64, 0.52), (0.72, 0.52, 0.38), (0.55, 0.37, 0.25),
                                      (0.36, 0.23, 0.15), (0.24, 0.15, 0.10)])
    skin_color = skin_color * torch.exp(torch.randn(n, 3, generator=g) * torch.tensor([0.06, 0.05, 0.06]))
    skin_features = torch.stack([U(0.05, 0.2), U(0.02, 0.1), U(0.0, 0.35), U(0.0, 1.0) ** 2], -1)
    hair_color = _palette(U(0, 1), [(0.55, 0.42, 0.28), (0.30, 0.20, 0.12), (0.12, 0.08, 0.06), (0.04, 0.03, 0.03)])
    hair_color = torch.minimum(hair_color, skin_color * 0.6)

    # --- light (directions in the head frame: -z points to the camera) ---
    light_temp = _banded(torch.rand(n, generator=g), split)
    light_azimuth = (_banded(torch.rand(n, generator=g), split) * 2 - 1) * d(70)
    elev = U(d(-15), d(55))
    light_dir = torch.stack([torch.sin(light_azimuth) * torch.cos(elev), -torch.sin(elev),
                             -torch.cos(light_azimuth) * torch.cos(elev)], -1)
    warm_cool = _palette(light_temp, [(1.0, 0.78, 0.55), (1.0, 0.92, 0.82), (0.95, 0.97, 1.0), (0.80, 0.88, 1.0)])
    light_color = warm_cool * U(0.5, 1.0).unsqueeze(-1)
    ambient_color = _palette(U(0, 1), [(1.0, 0.85, 0.7), (1.0, 1.0, 1.0), (0.8, 0.9, 1.0)]) * U(0.15, 0.6).unsqueeze(-1)
    screen = torch.stack([U(0.0, 0.6), U(d(-30), d(5)), U(d(-15), d(15)), U(d(4), d(12))], -1)
    has_glasses = (torch.rand(n, generator=g) < 0.15).float()
    glasses = torch.stack([has_glasses, U(0.5, 2.0), U(0.6, 0.8), U(0.0, 0.2), U(-20, 20), U(-12, 12)], -1)
    glasses_color = _palette(U(0, 1), [(0.05, 0.05, 0.05), (0.25, 0.15, 0.08), (0.6, 0.6, 0.62), (0.5, 0.1, 0.1)])

    # --- camera ---
    lo, hi = EYE_WIDTH_PX_RANGE
    eye_width_px = torch.exp(U(math.log(lo), math.log(hi)))
    defocus = U(0.0, 1.0) ** 2 * 1.0
    sharpen = U(0.0, 1.2) * (torch.rand(n, generator=g) < 0.7).float()  # most webcam pipelines sharpen
    moving = (torch.rand(n, generator=g) < 0.3).float()
    ang = U(0, math.pi)
    mlen = moving * U(0.0, 2.5)
    motion = torch.stack([torch.cos(ang) * mlen, torch.sin(ang) * mlen], -1)
    noise = torch.stack([torch.exp(U(math.log(2e-4), math.log(8e-3))), torch.exp(U(math.log(1e-3), math.log(2.5e-2)))], -1)
    exposure = U(0.10, 0.35)
    white_balance = torch.exp(torch.randn(n, 3, generator=g) * 0.07)
    awb_strength = U(0.4, 1.0)
    gamma = U(1.9, 2.5)
    jpeg_quality = U(30.0, 98.0)
    jpeg_offset = torch.randint(0, 8, (n, 2), generator=g).float()
    noise_seed = torch.randint(0, 2**62, (n,), generator=g)

    # --- textures: the test split's come from its own stream (the split is mixed into the seed) ---
    iris_tex = torch.cat([
        _fractal(g, n, 1, IRIS_TEX[1:], [(4, 96, 1.0), (8, 128, 0.6)]),  # radial fibres: long in radius
        _fractal(g, n, 1, IRIS_TEX[1:], [(5, 20, 1.0), (8, 40, 0.5)]),  # crypts and patches
        torch.rand(n, 1, *IRIS_TEX[1:], generator=g) * 2 - 1,  # fine detail
    ], 1)
    sclera_tex = _fractal(g, n, 1, SCLERA_TEX[1:], [(6, 12, 1.0), (12, 24, 0.5), (24, 48, 0.25)])
    skin_tex = torch.cat([
        _fractal(g, n, 1, SKIN_TEX[1:], [(4, 6, 1.0), (8, 12, 0.5)]),  # mottling
        _fractal(g, n, 1, SKIN_TEX[1:], [(24, 40, 0.5), (48, 80, 1.0)]),  # pores and fine texture
        _fractal(g, n, 1, SKIN_TEX[1:], [(48, 12, 1.0), (24, 6, 0.5)]),  # hair strands (stretched along x)
    ], 1)
    # --- drawn after everything else: adding it left every earlier draw (and every earlier render) unchanged ---
    if "band" in lid_range:
        (w0, w1), (k0, k1) = lid_range["band"]
        lid_band = torch.stack([U(w0, w1), U(k0, k1)], -1)
    else:
        lid_band = torch.zeros(n, 2)
    catchlights = _catchlights(g, n, LIGHT_PROFILES[lights])  # last again: earlier draws unchanged
    shades = _shades(g, n, LIGHT_PROFILES[lights])
    lower_margin = _lower_margin(g, n, LIGHT_PROFILES[lights])
    prof = LIGHT_PROFILES[lights]
    if "iris_dark_p" in prof:  # last again: earlier draws unchanged
        dark = torch.rand(n, generator=g) < prof["iris_dark_p"]
        gain = torch.where(dark, _logu(g, n, *prof["iris_gain"]), torch.ones(n))
        iris_colors = iris_colors * gain.view(n, 1, 1)
    return RenderParams(
        lid_band=lid_band, catchlights=catchlights, shades=shades, lower_margin=lower_margin,
        gaze=gaze, head=head, kappa=kappa, camera_distance=camera_distance, eye_width_mm=eye_width_mm,
        canthal_tilt=canthal_tilt, eyeball_center=eyeball_center, eyeball_radius=eyeball_radius,
        cornea_radius=cornea_radius, iris_radius=iris_radius, pupil_frac=pupil_frac, lid_upper=lid_upper,
        lid_lower=lid_lower, closure=closure, crease=crease, brow=brow, lashes=lashes, face_shape=face_shape,
        iris_tone=iris_tone, iris_colors=iris_colors, iris_features=iris_features, sclera_color=sclera_color,
        vein_strength=vein_strength, skin_tone=skin_tone, skin_color=skin_color, skin_features=skin_features,
        hair_color=hair_color, light_temp=light_temp, light_azimuth=light_azimuth, light_dir=light_dir,
        light_color=light_color, ambient_color=ambient_color, screen=screen, glasses=glasses,
        glasses_color=glasses_color, eye_width_px=eye_width_px, defocus=defocus, sharpen=sharpen, motion=motion, noise=noise,
        exposure=exposure, white_balance=white_balance, awb_strength=awb_strength, gamma=gamma, jpeg_quality=jpeg_quality,
        jpeg_offset=jpeg_offset, noise_seed=noise_seed, iris_tex=iris_tex, sclera_tex=sclera_tex, skin_tex=skin_tex,
    )


def partner_params(p: RenderParams, *, asymmetry: float = 0.0, seed: int = 0) -> RenderParams:
    """The right eyes (as their mirrored, left-eye-convention patches) of the people whose left eyes are ``p``.

    The same person at the same moment: the same anatomy, lids, textures and pitch; the yaw converging on a target
    at the camera's distance (inter-pupillary distance 64 mm, each eye turned toward the nose by half the vergence);
    the head residual yaw, the light, catchlights and shading blobs mirrored; its own sensor noise.
    ``asymmetry`` > 0 makes the two eyes of a face differ as real ones do: each lid's cover, the eye width and the
    canthal tilt drawn anew within ``± asymmetry`` × (0.6 mm, 0.6 mm, 4 %, 0.4 mm) (``seed`` picks the draw), so a
    reader of both eyes cannot assume identical lids.

    >>> q = partner_params(sample_params(3, seed=2))
    >>> bool((q.gaze[:, 0] == sample_params(3, seed=2).gaze[:, 0]).all())
    True
    """
    verg = torch.atan(32.0 / p.camera_distance)
    q = dataclasses.replace(
        p, gaze=torch.stack([p.gaze[:, 0], -(p.gaze[:, 1] - 2 * verg)], -1),
        head=p.head * torch.tensor([1.0, -1.0]), light_dir=p.light_dir * torch.tensor([-1.0, 1.0, 1.0]),
        light_azimuth=-p.light_azimuth, noise_seed=p.noise_seed + 1_000_003,
        catchlights=p.catchlights * torch.tensor([1.0, 1.0, -1.0, 1.0, 1.0]),
        shades=p.shades * torch.tensor([1.0, -1.0, 1.0, 1.0, 1.0]))
    if asymmetry > 0:
        n = len(p.gaze)
        g = torch.Generator().manual_seed(int(seed))
        a = float(asymmetry)
        jit = lambda scale: (torch.rand(n, generator=g) * 2 - 1) * a * scale  # noqa: E731
        up, lo = q.lid_upper.clone(), q.lid_lower.clone()
        up[:, 0] = up[:, 0] + jit(0.6)
        lo[:, 0] = lo[:, 0] + jit(0.6)
        q = dataclasses.replace(q, lid_upper=up, lid_lower=lo, eye_width_mm=q.eye_width_mm * (1 + jit(0.04)),
                                canthal_tilt=q.canthal_tilt + jit(0.4))
    return q
