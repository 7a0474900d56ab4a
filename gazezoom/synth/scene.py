"""Ray-cast shading of one batch of eye regions in linear RGB (pure tensor functions, any device).

One camera ray per pixel of the region (``REGION_MM`` centred on the eye centre, pinhole at
``camera_distance``) is transformed into the head frame and intersected with

* the **face**: a smooth height field (lid bulge over the eyeball, brow ridge, orbital sulcus, nose bridge, cheek)
  with the **lid aperture** cut into it (upper and lower lid margins between the two corners, following the
  eye's pitch and closing in blinks),
* behind the aperture, the **eyeball** (sphere) and the **cornea** (a smaller sphere, clipped at the limbus).
  Rays that enter the cornea are refracted (Snell, index 1.376) onto the **iris plane**, where a polar texture
  gives fibres, crypts, collarette, limbal ring and the pupil; the cornea also reflects the light source (glint)
  and the screen the user looks at.

Conventions: vectors are tuples ``(x, y, z)`` of ``(n, H, W)`` tensors or ``(n, 1, 1)`` per-sample tensors;
colours are ``(n, 3, H, W)``. Millimetres, radians. See ``params.py`` for the frames.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..geometry import REGION_MM, pitchyaw_to_vector, vector_to_pitchyaw
from .params import KAPPA_MEAN, RenderParams

__all__ = ["head_rotation", "eye_axes", "shade", "pupil_uv", "eye_landmarks_uv", "N_LIMBUS", "LID_T",
           "lid_polylines_uv", "aperture_mask"]

CORNEA_INDEX = 1.376
NEAR_PLANE_MM = 40.0  # rays start this far in front of the eye centre (keeps float32 ray-sphere tests exact)


# ----------------------------------------------------------------------------------------------- small helpers
def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _add(a, b, s=1.0):
    return (a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2])


def _scale(a, s):
    return (a[0] * s, a[1] * s, a[2] * s)


def _norm(a):
    inv = torch.rsqrt(_dot(a, a).clamp_min(1e-12))
    return (a[0] * inv, a[1] * inv, a[2] * inv)


def _col(t: torch.Tensor) -> torch.Tensor:
    """``(n, 3)`` colour → ``(n, 3, 1, 1)``."""
    return t[:, :, None, None]


def _s(t: torch.Tensor) -> torch.Tensor:
    """``(n,)`` per-sample scalar → ``(n, 1, 1)``."""
    return t[:, None, None]


def _vec(t: torch.Tensor):
    """``(n, 3)`` → tuple of ``(n, 1, 1)``."""
    return (t[:, 0, None, None], t[:, 1, None, None], t[:, 2, None, None])


def _powf(x, e):
    """``x ** e`` for x ≥ 0 and a non-integer (or per-sample tensor) exponent e > 0, via exp/log (vectorised)."""
    return torch.exp(e * torch.log(x.clamp_min(1e-30)))


def _smoothstep(e0, e1, x):
    """0 below ``e0``, 1 beyond ``e1`` (either order), smooth between; edges as floats or tensors broadcasting with
    ``x``. Equal edges give a step at ``e0`` (not 0 / 0 = NaN where ``x == e0``: a zero-width lid band rendered
    one NaN pixel in ~16,000 eyes, which the camera's blur spread over the whole image)."""
    d = e1 - e0
    if torch.is_tensor(d):
        d = torch.where(d == 0, torch.full_like(d, 1e-12), d)
    elif d == 0:
        d = 1e-12
    t = ((x - e0) / d).clamp(0, 1)
    return t * t * (3 - 2 * t)


def _rgb(v, like: torch.Tensor) -> torch.Tensor:
    """A constant sRGB triple → ``(1, 3, 1, 1)`` linear."""
    return (torch.tensor(v, dtype=like.dtype, device=like.device) ** 2.2)[None, :, None, None]


def _wrap_sample(tex: torch.Tensor, row01: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Sample a texture periodic in its columns.

    tex: (n, C, h, w); row01: (n, H, W) in [0, 1] along the rows; angle: (n, H, W) radians along the columns
    (period 2π). Returns (n, C, H, W).
    """
    w = tex.shape[-1]
    padded = torch.cat([tex[..., -2:], tex, tex[..., :2]], -1)  # (n, C, h, w + 4), circular
    col = (angle + math.pi) / (2 * math.pi) * w - 0.5 + 2  # column index in the padded texture
    gx = (col + 0.5) / (w + 4) * 2 - 1  # align_corners=False units
    gy = row01.clamp(0, 1) * 2 - 1
    return F.grid_sample(padded, torch.stack([gx, gy], -1), mode="bilinear", padding_mode="border", align_corners=False)


# ----------------------------------------------------------------------------------------------- geometry
def head_rotation(head: torch.Tensor) -> torch.Tensor:
    """Head residual pitch/yaw ``(n, 2)`` → rotation ``(n, 3, 3)`` from head to normalised-camera axes.

    ``R @ (0, 0, -1)`` is the direction the face points (same convention as gaze); ``R = R_y(yaw) R_x(-pitch)``
    keeps the head's x-axis in the camera's x-z plane, i.e. no roll, as the normalisation removes roll.
    """
    p, y = -head[:, 0], head[:, 1]
    cp, sp, cy, sy = torch.cos(p), torch.sin(p), torch.cos(y), torch.sin(y)
    one, zero = torch.ones_like(p), torch.zeros_like(p)
    rx = torch.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).view(-1, 3, 3)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).view(-1, 3, 3)
    return ry @ rx


def eye_axes(params: RenderParams, R: torch.Tensor):
    """Optical axis of each eye.

    Returns ``(axis_head (n, 3), optical_gaze (n, 2), visual_gaze (n, 2))``: the optical axis as a unit vector
    in the head frame, and the optical and the subject's own visual axis as pitch/yaw in the normalised camera.
    The label (``params.gaze``) is the population-mean visual axis: optical = label − KAPPA_MEAN (head frame).
    """
    g_cam = pitchyaw_to_vector(params.gaze)  # (n, 3)
    g_head = (R.transpose(1, 2) @ g_cam.unsqueeze(-1)).squeeze(-1)
    kmean = torch.tensor(KAPPA_MEAN, dtype=g_cam.dtype, device=g_cam.device)
    opt_py = vector_to_pitchyaw(g_head) - kmean
    axis = pitchyaw_to_vector(opt_py)
    vis = pitchyaw_to_vector(opt_py + params.kappa)
    to_cam = lambda v: vector_to_pitchyaw((R @ v.unsqueeze(-1)).squeeze(-1))  # noqa: E731
    return axis, to_cam(axis), to_cam(vis)


def _limbus(params: RenderParams):
    """Per-sample limbus-plane distance from the eyeball centre and cornea-centre offset (n,)."""
    re, rl, rc = params.eyeball_radius, params.iris_radius, params.cornea_radius
    ld = torch.sqrt(re**2 - rl**2)
    dc = ld - torch.sqrt(rc**2 - rl**2)
    return ld, dc


def pupil_uv(params: RenderParams) -> torch.Tensor:
    """Region coordinates ``(n, 2)`` (u, v) of the (unrefracted) pupil centre, for tests and auxiliary targets."""
    R = head_rotation(params.head)
    axis, _, _ = eye_axes(params, R)
    ld, _ = _limbus(params)
    p_head = params.eyeball_center + (ld - 0.4).unsqueeze(-1) * axis
    return _project_uv(p_head[:, None], R, params.camera_distance)[:, 0]


#: Points on the limbus (the iris's rim) among :func:`eye_landmarks_uv`, evenly spaced from the temporal side.
N_LIMBUS = 8
#: Positions along each lid margin (0 nasal corner … 1 temporal corner) among :func:`eye_landmarks_uv`.
LID_T = (0.25, 0.5, 0.75)


def _project_uv(p_head: torch.Tensor, R: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    """Head-frame points ``(n, K, 3)`` mm → region coordinates ``(n, K, 2)`` (the normalised camera ``dist`` mm
    in front of the eye centre)."""
    p = (R[:, None] @ p_head.unsqueeze(-1)).squeeze(-1)
    scale = dist[:, None] / (p[..., 2] + dist[:, None])
    return torch.stack([p[..., 0] * scale / (REGION_MM[1] / 2), p[..., 1] * scale / (REGION_MM[0] / 2)], -1)


def eye_landmarks_uv(params: RenderParams) -> torch.Tensor:
    """Eye-region landmarks ``(n, 1 + N_LIMBUS + 2 len(LID_T), 2)`` in region coordinates (u, v), exact for the
    rendered scene: the pupil centre (as :func:`pupil_uv`), :data:`N_LIMBUS` points on the limbus circle (the rim of
    the iris, *amodal*: also where a lid hides it), then the upper and the lower lid margin at :data:`LID_T` of the
    way from the nasal to the temporal corner (on the face's surface, as drawn; open lids: blinks closing them are
    left out of training anyway). Intermediate targets that name the iris rim and the lids apart (Park et al., ETRA
    2018), so a reader cannot stand one in for the other."""
    R = head_rotation(params.head)
    axis, _, _ = eye_axes(params, R)
    ld, _ = _limbus(params)
    c = params.eyeball_center
    pupil = c + (ld - 0.4).unsqueeze(-1) * axis  # as pupil_uv
    # two unit vectors spanning the limbus plane (perpendicular to the optical axis): e1 ~ head x, e2 = axis x e1
    ex = torch.zeros_like(axis)
    ex[:, 0] = 1.0
    e1 = ex - (axis * ex).sum(-1, keepdim=True) * axis
    e1 = e1 / e1.norm(dim=-1, keepdim=True)
    e2 = torch.cross(axis, e1, dim=-1)
    th = torch.arange(N_LIMBUS, dtype=axis.dtype, device=axis.device) * (2 * math.pi / N_LIMBUS)
    centre = c + ld.unsqueeze(-1) * axis
    rim = (centre[:, None] + params.iris_radius[:, None, None]
           * (torch.cos(th)[None, :, None] * e1[:, None] + torch.sin(th)[None, :, None] * e2[:, None]))
    lids = _lid_points(params, axis, torch.tensor(LID_T, dtype=axis.dtype, device=axis.device), open_lids=True)
    pts = torch.cat([pupil[:, None], rim, lids], 1)
    return _project_uv(pts, R, params.camera_distance)


def _lid_points(params: RenderParams, axis: torch.Tensor, t: torch.Tensor, open_lids: bool = False) -> torch.Tensor:
    """Head-frame points ``(n, 2K, 3)`` mm on the upper then the lower lid margin at ``t (K,)`` of the way from the
    nasal to the temporal corner, on the face's surface as drawn (``open_lids``: the margin without a blink)."""
    lid, _ = _lid_geometry(params, axis)
    if open_lids:
        lid = dict(lid, h_u=lid["h_u_open"])
    x = lid["xm"] + t.view(1, 1, -1) * (lid["xl"] - lid["xm"])  # (n, 1, K)
    y_up, y_lo, *_ = _lid_curves(x, lid)
    xs = torch.cat([x, x], -1)[:, 0]  # (n, 2K)
    ys = torch.cat([y_up, y_lo], -1)[:, 0]
    zs = -_face_height(xs[:, None], ys[:, None], params, grad=False)[0][:, 0]  # the lids lie on the face's surface
    return torch.stack([xs, ys, zs], -1)


def lid_polylines_uv(params: RenderParams, k: int = 9) -> tuple[torch.Tensor, torch.Tensor]:
    """The rendered lid margins as polylines ``(upper (n, k, 2), lower (n, k, 2))`` in region coordinates, corner
    to corner (nasal first) — what MediaPipe's eye contour gives on a real eye (8 segments per lid)."""
    R = head_rotation(params.head)
    axis, _, _ = eye_axes(params, R)
    t = torch.linspace(0.0, 1.0, k, dtype=axis.dtype, device=axis.device)
    t[0], t[-1] = 1e-3, 1 - 1e-3  # the margins meet at the corners
    uv = _project_uv(_lid_points(params, axis, t), R, params.camera_distance)
    return uv[:, :k], uv[:, k:]


def aperture_mask(upper: torch.Tensor, lower: torch.Tensor, size: tuple[int, int], soft_px: float = 1.0) -> torch.Tensor:
    """Soft mask ``(n, H, W)`` in [0, 1] of the eye's aperture — between the ``upper`` and ``lower`` lid polylines
    ``(n, k, 2)`` (region coordinates, u increasing along each) — on a region image of ``size`` (pixel centres at
    ``u, v = linspace(-1, 1)``, as everywhere in gazezoom); edges ``soft_px`` pixels wide."""
    H, W = size
    n = upper.shape[0]
    dt, dev = upper.dtype, upper.device
    u = torch.linspace(-1.0, 1.0, W, dtype=dt, device=dev).expand(n, W).contiguous()
    v = torch.linspace(-1.0, 1.0, H, dtype=dt, device=dev).view(1, H, 1)

    def along(poly):  # v of a polyline at every column u (n, W), and whether the column lies within it
        pu = poly[..., 0].contiguous()
        pu, order = pu.sort(-1)
        pv = poly[..., 1].gather(-1, order)
        i = torch.searchsorted(pu, u).clamp(1, pu.shape[1] - 1)
        u0, u1 = pu.gather(-1, i - 1), pu.gather(-1, i)
        v0, v1 = pv.gather(-1, i - 1), pv.gather(-1, i)
        w = ((u - u0) / (u1 - u0).clamp_min(1e-9)).clamp(0, 1)
        return v0 + w * (v1 - v0), (u >= pu[:, :1]) & (u <= pu[:, -1:])

    v_up, in_up = along(upper)
    v_lo, in_lo = along(lower)
    px = 2.0 / (H - 1)  # one pixel in v
    inside = torch.minimum(v - v_up.unsqueeze(1), v_lo.unsqueeze(1) - v) / (px * soft_px) + 0.5
    return inside.clamp(0, 1) * (in_up & in_lo).unsqueeze(1).to(dt)


def _catchlights(cl: torch.Tensor, r_p: torch.Tensor, r_y: torch.Tensor, hit_c: torch.Tensor) -> torch.Tensor:
    """Radiance ``(n, 1, H, W)`` the eye mirrors from the area lights ``cl (n, K, 5)`` (``RenderParams.catchlights``)
    along the reflected rays' pitch/yaw ``r_p, r_y (n, H, W)``: soft-edged rectangles in direction space, strong on
    the cornea (``hit_c``), weak on the wet sclera. Zero where no light is present (every pre-catchlight profile)."""
    out = torch.zeros_like(r_p)
    if not bool((cl[:, :, 0] > 0).any()):
        return out.unsqueeze(1)
    for k in range(cl.shape[1]):
        rad, cp, cy, hw, hh = (_s(cl[:, k, i]) for i in range(5))
        mask = _smoothstep(hw, hw * 0.7, (r_y - cy).abs()) * _smoothstep(hh, hh * 0.7, (r_p - cp).abs())
        out = out + rad * mask
    return (out * torch.where(hit_c, 0.25, 0.03)).unsqueeze(1)


def _shading(sh: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Multiplicative gain ``(n, 1, H, W)`` of the shading blobs ``sh (n, K, 5)`` (``RenderParams.shades``) at head-frame
    ``x, y`` mm from the eye centre ``(n, H, W)``: soft ellipses, 1 outside them and where no blob is present."""
    out = torch.ones_like(x)
    if not bool((sh[:, :, 0] != 1).any()):
        return out.unsqueeze(1)
    for k in range(sh.shape[1]):
        gain, cx, cy, hw, hh = (_s(sh[:, k, i]) for i in range(5))
        r2 = ((x - cx) / hw) ** 2 + ((y - cy) / hh) ** 2
        out = out * (1 + (gain - 1) * _smoothstep(1.0, 0.3, r2.sqrt()))
    return out.unsqueeze(1)


def _face_height(x, y, params: RenderParams, grad: bool = True):
    """Protrusion ``P`` of the face towards the camera (mm) and its gradient at head-frame ``(x, y)``.

    z = −P(x, y). Sum of Gaussian bumps: lid bulge over the eyeball, brow ridge, orbital sulcus, cheek, plus a
    logistic nose bridge on the nasal (image-left) side. Returns ``(P, dP/dx, dP/dy)``, each (n, H, W).
    """
    fs = params.face_shape
    ex, ey = _s(params.eyeball_center[:, 0]), _s(params.eyeball_center[:, 1])
    a_lid, a_brow, a_sulc, a_nose = _s(fs[:, 0]), _s(fs[:, 1]), _s(fs[:, 2]), _s(fs[:, 3])
    yb = _s(params.brow[:, 0]) + 1.0

    def gauss(dx, dy, sx, sy, amp):
        g = amp * torch.exp(-0.5 * ((dx / sx) ** 2 + (dy / sy) ** 2))
        if not grad:
            return g, None, None
        return g, -g * dx / sx**2, -g * dy / sy**2

    terms = [
        gauss(x - ex, y - ey, 9.0, 7.0, a_lid),
        gauss(x, y - yb, 30.0, 4.0, a_brow),
        gauss(x - 2.0, y - 0.5 * (yb + ey - 8.0), 9.0, 2.5, -a_sulc),
        gauss(x, y - 19.0, 25.0, 6.0, torch.full_like(ex, 2.5)),
    ]
    sig = torch.sigmoid((-x - 21.0) / 3.0)
    P = sum(t[0] for t in terms) + a_nose * sig
    if not grad:
        return P, None, None
    Px = sum(t[1] for t in terms) - a_nose * sig * (1 - sig) / 3.0
    Py = sum(t[2] for t in terms)
    return P, Px, Py


def _lid_geometry(params: RenderParams, axis: torch.Tensor):
    """Per-sample lid shape: corners, margin heights and curve shapes (all (n, 1, 1)) and the openness (n,)."""
    ld, _ = _limbus(params)
    rl = params.iris_radius
    ey = params.eyeball_center[:, 1]
    ay = axis[:, 1]  # > 0 when the eye looks down
    wm = params.eye_width_mm
    xm, xl = -wm / 2, wm / 2
    ym, yl = params.canthal_tilt / 2, -params.canthal_tilt / 2
    cover, k_u, gam_u, pow_u, fold = params.lid_upper.unbind(-1)
    gap, k_l, gam_l, pow_l = params.lid_lower.unbind(-1)
    # Lid margins follow the iris vertically (upper lid ~1:1, lower lid ~1/3; Ferman et al.)
    yu_open = ey + ld * ay * k_u - rl + cover
    yl_open = ey + ld * ay * k_l + rl + gap
    yu_open = torch.minimum(yu_open, yl_open - 2.5)
    yu = yu_open + params.closure * (yl_open - 0.4 - yu_open)
    t_pu, t_pl = 0.5 ** (1 / gam_u), 0.5 ** (1 / gam_l)
    base = lambda t: ym + t * (yl - ym)  # noqa: E731
    h_l = (yl_open - base(t_pl)).clamp_min(0.5)
    h_u = (base(t_pu) - yu).clamp_min(-h_l + 0.25)
    h_u_open = (base(t_pu) - yu_open).clamp_min(0.5)
    openness = ((yl_open - yu) / (2 * rl)).clamp(0, 1)  # aperture at its widest / iris diameter
    g = dict(ex=params.eyeball_center[:, 0], ey=ey, xm=xm, xl=xl, ym=ym, yl=yl, h_u=h_u, h_l=h_l, h_u_open=h_u_open, gam_u=gam_u, pow_u=pow_u,
             gam_l=gam_l, pow_l=pow_l, fold=fold)
    return {k: _s(v) for k, v in g.items()}, openness


def _lid_curves(x, lid):
    """Upper and lower margin y (mm) and the along-lid parameter t ∈ [0, 1] at head-frame x (n, H, W)."""
    t_raw = (x - lid["xm"]) / (lid["xl"] - lid["xm"])
    t = t_raw.clamp(1e-4, 1 - 1e-4)
    base = lid["ym"] + t * (lid["yl"] - lid["ym"])
    inside = ((t_raw > 0) & (t_raw < 1)).to(x.dtype)
    bump_u = _powf(torch.sin(math.pi * _powf(t, lid["gam_u"])), lid["pow_u"]) * inside
    bump_l = _powf(torch.sin(math.pi * _powf(t, lid["gam_l"])), lid["pow_l"]) * inside
    return base - lid["h_u"] * bump_u, base + lid["h_l"] * bump_l, base, bump_u, t_raw


def _sphere_hit(o, d, c, r):
    """Nearest intersection of rays ``o + t d`` with the sphere (centre c, radius r): (hit mask, point)."""
    oc = _add(o, c, -1.0)
    b = _dot(oc, d)
    disc = b * b - (_dot(oc, oc) - r * r)
    t = -b - torch.sqrt(disc.clamp_min(0))
    return disc > 0, (o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2])


# ----------------------------------------------------------------------------------------------- shading
def _rays(params: RenderParams, size: tuple[int, int], R: torch.Tensor):
    """Head-frame rays through the region's pixel centres (align_corners=True): origins and unit directions.

    The pinhole sits at (0, 0, -D) in front of the region plane z = 0; rays start ``NEAR_PLANE_MM`` in front of
    the eye centre. Returns ``(o, d)``, tuples of three (n, h, w) tensors.
    """
    h, w = size
    n = len(params)
    dev, dt = params.gaze.device, params.gaze.dtype
    hmm, wmm = REGION_MM
    X = torch.linspace(-wmm / 2, wmm / 2, w, device=dev, dtype=dt).view(1, 1, w).expand(n, h, w)
    Y = torch.linspace(-hmm / 2, hmm / 2, h, device=dev, dtype=dt).view(1, h, 1).expand(n, h, w)
    D = _s(params.camera_distance)
    dcam = _norm((X, Y, D.expand(n, h, w)))
    t0 = (D - NEAR_PLANE_MM) / dcam[2]
    ocam = (t0 * dcam[0], t0 * dcam[1], t0 * dcam[2] - D)
    Rt = [[_s(R[:, j, i]) for j in range(3)] for i in range(3)]  # rows of R^T
    to_head = lambda v: tuple(Rt[i][0] * v[0] + Rt[i][1] * v[1] + Rt[i][2] * v[2] for i in range(3))  # noqa: E731
    return to_head(ocam), to_head(dcam)


def _surface(params: RenderParams, size: tuple[int, int], R: torch.Tensor) -> torch.Tensor:
    """Smooth per-pixel quantities computed on a half-resolution grid and upsampled bilinearly.

    Rays, their hit on the face height field (fixed-point iterations of z = −P(x, y) along the near-orthographic
    rays) and the face's diffuse/specular lighting are all smooth in the pixel position, so they are computed
    at half resolution. Returns (n, 10, H, W): o (3), d (3), face hit x, y (mm), diffuse, specular.
    """
    H, W = size
    h, w = max(2, (H + 1) // 2), max(2, (W + 1) // 2)
    o, d = _rays(params, (h, w), R)
    t = -o[2] / d[2]
    for _ in range(2):
        P, _, _ = _face_height(o[0] + t * d[0], o[1] + t * d[1], params, grad=False)
        t = (-P - o[2]) / d[2]
    xs, ys = o[0] + t * d[0], o[1] + t * d[1]
    _, Px, Py = _face_height(xs, ys, params)
    nrm = _norm((-Px, -Py, -torch.ones_like(Px)))
    L = _vec(params.light_dir)
    half = _norm(_add(L, _scale(d, -1.0)))
    diffuse = ((_dot(nrm, L) + 0.35) / 1.35).clamp_min(0)  # wrap lighting: skin scatters light under the surface
    spec = _powf(_dot(nrm, half), 16.0) * 0.05
    fields = torch.stack([*o, *d, xs, ys, diffuse, spec], 1)  # (n, 10, h, w)
    return F.interpolate(fields, size=(H, W), mode="bilinear", align_corners=True)


def _crop_box(mask: torch.Tensor, pad: int) -> tuple[int, int, int, int]:
    """Rows/cols (i0, i1, j0, j1) bounding ``mask (n, H, W)`` over the batch, grown by ``pad`` pixels."""
    rows = mask.any(2).any(0).nonzero()
    cols = mask.any(1).any(0).nonzero()
    H, W = mask.shape[1:]
    if rows.numel() == 0:
        return 0, 1, 0, 1
    return (max(int(rows[0]) - pad, 0), min(int(rows[-1]) + 1 + pad, H),
            max(int(cols[0]) - pad, 0), min(int(cols[-1]) + 1 + pad, W))


def _eye(params: RenderParams, o, d, xs, ys, sd_u, sd_l, t_lid, lid, axis: torch.Tensor) -> torch.Tensor:
    """Colour (n, 3, h, w) of what is seen through the lid aperture: cornea/iris/pupil, sclera, socket, caruncle.

    All inputs are per-pixel (n, h, w) tensors (a crop around the aperture) or per-sample parameters.
    """
    a = _vec(axis)
    L = _vec(params.light_dir)
    light, amb = _col(params.light_color), _col(params.ambient_color)
    E = _vec(params.eyeball_center)
    re, rc, rl = _s(params.eyeball_radius), _s(params.cornea_radius), _s(params.iris_radius)
    ld, dc = (_s(v) for v in _limbus(params))
    hit_s, ps = _sphere_hit(o, d, E, re)
    Cc = _add(E, a, dc)
    hit_c, pc = _sphere_hit(o, d, Cc, rc)
    pe = _add(pc, E, -1.0)
    hit_c = hit_c & (_dot(pe, a) > ld)
    # refraction into the aqueous humour (Snell's law, vector form) and on to the iris plane
    nc = _scale(_add(pc, Cc, -1.0), 1.0 / rc)
    eta = 1.0 / CORNEA_INDEX
    cosi = -_dot(d, nc)
    coef = eta * cosi - torch.sqrt((1 - eta**2 * (1 - cosi**2)).clamp_min(0))
    dr = (eta * d[0] + coef * nc[0], eta * d[1] + coef * nc[1], eta * d[2] + coef * nc[2])
    li = ld - 0.4  # iris plane a little behind the limbus (anterior chamber ≈ 3 mm deep)
    ti = (li - _dot(pe, a)) / _dot(dr, a).clamp_max(-1e-4)
    q = (pe[0] + ti * dr[0] - li * a[0], pe[1] + ti * dr[1] - li * a[1], pe[2] + ti * dr[2] - li * a[2])
    # iris-plane basis: e1 = head x made orthogonal to the axis, e2 = axis × e1
    e1 = torch.stack([1 - axis[:, 0] ** 2, -axis[:, 0] * axis[:, 1], -axis[:, 0] * axis[:, 2]], -1)
    e1 = e1 / e1.norm(dim=-1, keepdim=True)
    e2 = torch.cross(axis, e1, dim=-1)
    e1v, e2v = _vec(e1), _vec(e2)
    qx, qy = _dot(q, e1v), _dot(q, e2v)
    rho = torch.sqrt(qx**2 + qy**2 + 1e-12) / rl
    theta = torch.atan2(qy, qx)

    # ---- iris: polar texture (fibres, crypts, fine detail), collarette, limbal ring, pupil ruff, pupil
    rp = _s(params.pupil_frac)
    rho_i = ((rho - rp) / (1 - rp)).clamp(0, 1)  # 0 at the pupil edge, 1 at the limbus
    tex = _wrap_sample(params.iris_tex, rho_i, theta)  # (n, 3, h, w)
    fib, cry, fine = tex[:, 0:1], tex[:, 1:2], tex[:, 2:3]
    ic = params.iris_colors
    f_fib, f_cry, f_limb, coll_r = (params.iris_features[:, i, None, None, None] for i in range(4))
    r1 = rho_i.unsqueeze(1)
    iris = torch.lerp(_col(ic[:, 0]), _col(ic[:, 1]), 1 - _smoothstep(coll_r - 0.1, coll_r + 0.1, r1))
    iris = torch.lerp(iris * (1 + 0.6 * f_fib * fib), _col(ic[:, 2]), (1.5 * f_fib * (fib - 0.15)).clamp(0, 1))
    shade_i = (1 - f_cry * (-1.6 * cry).clamp(0, 1)) * (1 + 0.12 * fine)
    shade_i = shade_i * (1 + 0.3 * torch.exp(-(((r1 - coll_r) / 0.035) ** 2)))
    shade_i = shade_i * (1 - f_limb * _smoothstep(0.72, 1.0, r1)) * (1 - 0.5 * torch.exp(-((r1 / 0.05) ** 2)))
    iris = iris * shade_i
    pupil_w = 1 - _smoothstep(rp - 0.03, rp + 0.03, rho).unsqueeze(1)
    iris = torch.lerp(iris, torch.full_like(iris, 0.006), pupil_w)
    ndl_iris = _dot(a, L).clamp_min(0)
    iris = iris * (amb + light * (0.35 + 0.65 * ndl_iris).unsqueeze(1))

    # ---- sclera: veins towards the periphery, pinker near the corners, grey limbal transition, wrap lighting
    ns = _scale(_add(ps, E, -1.0), 1.0 / re)
    phi = torch.acos(_dot(ns, a).clamp(-1, 1))
    psi = torch.atan2(_dot(ns, e2v), _dot(ns, e1v))
    veins = _wrap_sample(params.sclera_tex, phi / (math.pi / 2), psi)  # (n, 1, h, w)
    ridge = (1 - veins.abs() / 0.1).clamp_min(0) ** 2
    phi1 = phi.unsqueeze(1)
    w_vein = _s(params.vein_strength).unsqueeze(1) * _smoothstep(0.6, 1.3, phi1)
    sclera = _col(params.sclera_color) * (1 - 0.15 * _smoothstep(0.9, 1.5, phi1))
    sclera = torch.lerp(sclera, _rgb((0.62, 0.18, 0.15), sclera), (w_vein * ridge).clamp(0, 0.8))
    phi_l = torch.acos((ld / re).clamp(-1, 1)).unsqueeze(1)
    limbal = _col(ic[:, 0]) * 0.4 + 0.02
    sclera = torch.lerp(sclera, limbal, 0.85 * (1 - _smoothstep(phi_l, phi_l + 0.14, phi1)))
    sclera = sclera * (amb + light * ((_dot(ns, L) + 0.3) / 1.3).clamp_min(0).unsqueeze(1))

    # ---- through the cornea: iris, or limbus/sclera when the refracted ray misses the iris disc
    eye = torch.where(hit_c.unsqueeze(1), torch.lerp(iris, sclera, _smoothstep(1.0, 1.06, rho).unsqueeze(1)), sclera)
    # reflections: light source glint (cornea) and the screen the user looks at (cornea strong, wet sclera weak)
    n_eye = tuple(torch.where(hit_c, nc[i], ns[i]) for i in range(3))
    half = _norm(_add(L, _scale(d, -1.0)))
    nh = _dot(n_eye, half).clamp(0, 1)
    log_nh = torch.log(nh.clamp_min(1e-30))
    glint = torch.where(hit_c, torch.exp(900 * log_nh) * 6.0, torch.zeros_like(nh)) + torch.exp(40 * log_nh) * 0.04
    dn = 2 * _dot(d, n_eye)
    refl = (d[0] - dn * n_eye[0], d[1] - dn * n_eye[1], d[2] - dn * n_eye[2])
    r_p, r_y = torch.asin((-refl[1]).clamp(-1, 1)), torch.atan2(-refl[0], -refl[2])
    sb, sp, sy, sh = (_s(params.screen[:, i]) for i in range(4))
    scr = _smoothstep(sh, sh * 0.6, (r_y - sy).abs()) * _smoothstep(sh * 0.7, sh * 0.4, (r_p - sp).abs())
    scr = sb * scr * torch.where(hit_c, 0.06, 0.015)
    eye = eye + light * glint.unsqueeze(1) + scr.unsqueeze(1) * _rgb((0.92, 0.96, 1.0), eye)
    eye = eye + _catchlights(params.catchlights, r_p, r_y, hit_c) * _rgb((0.95, 0.97, 1.0), eye)
    # socket (rays that miss the eyeball near the corners) and the caruncle at the nasal corner
    socket = _rgb((0.50, 0.36, 0.34), eye) * (amb + 0.3 * light)
    eye = torch.where(hit_s.unsqueeze(1), eye, socket)
    car = torch.exp(-0.5 * (((xs - lid["xm"] - 1.4) / 0.9) ** 2 + ((ys - lid["ym"]) / 0.9) ** 2)).unsqueeze(1)
    eye = torch.lerp(eye, _rgb((0.78, 0.52, 0.50), eye) * (amb + light * 0.7), 0.7 * car)
    # lid shadow and corner occlusion, lower-lid waterline
    shadow = (1 - 0.65 * torch.exp(-sd_u.clamp_min(0) / 1.2)) * (1 - 0.3 * torch.exp(-sd_l.clamp_min(0) / 0.7))
    shadow = shadow * (1 - 0.55 * (1 - torch.sin(math.pi * t_lid.clamp(0, 1))) ** 3)
    eye = eye * shadow.unsqueeze(1)
    wl = torch.exp(-sd_l.clamp_min(0) / 0.3).unsqueeze(1) * 0.8
    return torch.lerp(eye, _rgb((0.78, 0.48, 0.45), eye) * (amb + light * 0.7), wl)


def _skin(params: RenderParams, xs, ys, diffuse, spec, sd_u, sd_l, t_lid, in_lid, lid, base, bump_u, y_lo):
    """Colour (n, 3, H, W) of the face: albedo texture, periorbital darkening, lid crease, brow, lighting."""
    dev, dt = xs.device, xs.dtype
    light, amb = _col(params.light_color), _col(params.ambient_color)
    T = _region_sample(params.skin_tex, xs, ys)  # (n, 3, H, W)
    mott, pores, strands = T[:, 0:1], T[:, 1:2], T[:, 2:3]
    sf = params.skin_features
    alb_s = (1 + sf[:, 0, None, None, None] * 1.2 * mott) * (1 + sf[:, 1, None, None, None] * pores)
    peri = torch.exp(-0.5 * (((xs - lid["ex"]) / 11.0) ** 2 + ((ys - lid["ey"] - 1.0) / 8.0) ** 2)).unsqueeze(1)
    near_margin = (torch.exp(-torch.minimum(sd_u.abs(), sd_l.abs()) / 0.8) * in_lid).unsqueeze(1)
    tint = 1 - sf[:, 2, None, None, None] * peri * torch.tensor([0.8, 1.0, 1.0], device=dev, dtype=dt).view(1, 3, 1, 1)
    tint = tint * (1 - 0.2 * near_margin * torch.tensor([0.0, 1.0, 0.8], device=dev, dtype=dt).view(1, 3, 1, 1))
    # the eye sits recessed: skin right around the aperture gets less ambient light
    tint = tint * (1 - 0.25 * (torch.exp(-(-torch.minimum(sd_u, sd_l)).clamp_min(0) / 1.2) * in_lid)).unsqueeze(1)
    # crease (supratarsal fold): a shadowed line above the open lid margin, a highlight just above it
    # hooded lids (fold → 1): the crease sits lower and the overhanging fold shades the skin below it
    fold = lid["fold"]
    yc = base - (lid["h_u_open"] + _s(params.crease[:, 0]) * (1 - 0.75 * fold**2)) * _powf(bump_u, 0.8)
    cs = _s(params.crease[:, 1]) * _powf(bump_u, 0.3)  # the fold fades out towards the corners
    sh = (1 - cs * 0.45 * torch.exp(-(((ys - yc) / 0.6) ** 2))) * (1 + cs * 0.12 * torch.exp(-(((ys - yc + 1.5) / 1.2) ** 2)))
    sh = sh * (1 - 0.3 * fold * cs * _smoothstep(yc - 0.3, yc + 0.5, ys) * _smoothstep(0.2, -0.5, sd_u))
    sh = sh * (1 - 0.12 * in_lid * torch.exp(-(((ys - y_lo - 4.0) / 1.2) ** 2)))  # lower-lid fold
    # ageing: under-eye bag (a fold line lower down with a lit bulge above it) and crow's feet at the temporal corner
    wr = sf[:, 3, None, None]
    d_lo = ys - y_lo
    bag = torch.exp(-(((d_lo - 7.0) / 1.0) ** 2)) * 0.25 - torch.exp(-(((d_lo - 4.5) / 2.0) ** 2)) * 0.08
    sh = sh * (1 - wr * bag * in_lid)
    dx, dy = xs - lid["xl"] - 1.5, ys - lid["yl"]
    r = torch.sqrt(dx**2 + dy**2)
    ang = torch.atan2(dy, dx)  # lines fan out from the corner within ~±40° of the horizontal, slightly irregular
    crow = (0.5 + 0.5 * torch.cos(ang * 14 + 0.3 * r + 4.0 * mott.squeeze(1))) ** 4
    crow = crow * _smoothstep(3.0, 6.0, r) * _smoothstep(14.0, 9.0, r) * _smoothstep(0.8, 0.4, ang.abs())
    sh = sh * (1 - 0.15 * wr * crow)
    # brow-ridge shadow when lit from above
    brow = params.brow
    yb = _s(brow[:, 0]) + _s(brow[:, 3]) * (xs / 20.0) ** 2
    sh = sh * (1 - 0.3 * (-_s(params.light_dir[:, 1])).clamp_min(0) * _smoothstep(yb, yb + 6.0, ys) * _smoothstep(yb + 14.0, yb + 6.0, ys))
    skin = _col(params.skin_color) * alb_s * tint * (amb + light * (diffuse * sh).unsqueeze(1)) + light * spec.unsqueeze(1)
    # brow hair: a band of strands (texture stretched along x), tapering at both ends
    thick = _s(brow[:, 1])
    band = _smoothstep(yb + 0.5, yb - 1.0, ys) * _smoothstep(yb - thick - 1.0, yb - thick + 1.5, ys)
    band = band * _smoothstep(32.0, 20.0, xs) * _smoothstep(-32.0, -22.0, xs)
    hair_a = band * (_s(brow[:, 2]) * (0.55 + 1.2 * strands.squeeze(1))).clamp(0, 1)
    hair = _col(params.hair_color) * (amb + light * 0.6)
    return torch.lerp(skin, hair, hair_a.unsqueeze(1))


def shade(params: RenderParams, out_size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Render the scenes of ``params`` (on its device/dtype) without camera effects.

    Returns ``{"linear": (n, 3, H, W) linear RGB ≥ 0, "openness": (n,), "optical_gaze": (n, 2),
    "visual_gaze": (n, 2)}``.
    """
    H, W = out_size
    dt = params.gaze.dtype
    px_mm = REGION_MM[1] / max(W - 1, 1)  # for anti-aliased edges
    R = head_rotation(params.head)  # (n, 3, 3) head → camera
    axis, optical_gaze, visual_gaze = eye_axes(params, R)
    light, amb = _col(params.light_color), _col(params.ambient_color)

    f = _surface(params, (H, W), R)
    o, d = (f[:, 0], f[:, 1], f[:, 2]), (f[:, 3], f[:, 4], f[:, 5])
    xs, ys, diffuse, spec = f[:, 6], f[:, 7], f[:, 8], f[:, 9]

    lid, openness = _lid_geometry(params, axis)
    y_up, y_lo, base, bump_u, t_lid = _lid_curves(xs, lid)
    sd_u, sd_l = ys - y_up, y_lo - ys  # > 0 inside the aperture
    aperture = (torch.minimum(sd_u, sd_l) / px_mm + 0.5).clamp(0, 1) * ((t_lid > 0) & (t_lid < 1))  # (n, H, W)
    in_lid = _smoothstep(-0.05, 0.08, t_lid) * _smoothstep(1.05, 0.9, t_lid)

    img = _skin(params, xs, ys, diffuse, spec, sd_u, sd_l, t_lid, in_lid, lid, base, bump_u, y_lo)
    # the eye is shaded only inside the batch's bounding box of the aperture
    i0, i1, j0, j1 = _crop_box(aperture > 0, pad=1)
    c = lambda t: t[..., i0:i1, j0:j1]  # noqa: E731
    eye = _eye(params, tuple(map(c, o)), tuple(map(c, d)), c(xs), c(ys), c(sd_u), c(sd_l), c(t_lid), lid, axis)
    img[..., i0:i1, j0:j1] = torch.lerp(c(img), eye, c(aperture).unsqueeze(1))

    # ---- lashes (over skin and eye): a dark lash line with strands fanning out from the margin
    lash = params.lashes
    dens, llen, ldens = _s(lash[:, 0]), _s(lash[:, 1]), _s(lash[:, 2])
    tl = t_lid.clamp(0, 1)
    length = llen * (0.35 + 0.65 * torch.sqrt(torch.sin(math.pi * tl).clamp_min(0)))
    d_up = y_up - ys  # > 0 above the upper margin
    # strands: ~0.8 per mm (coarser than real lashes, which a 3 px/mm render cannot resolve), fanning outwards
    strand = (0.5 + 0.5 * torch.cos(2 * math.pi * 0.8 * (xs + 1.2 * (tl - 0.45) * d_up))) ** 2
    # the lash line along the margin: ~1 mm of dense lashes, thicker towards the temporal corner
    thick = 0.6 + 0.8 * tl
    line = _smoothstep(-0.8, -0.2, d_up) * _smoothstep(thick + 0.5, thick, d_up)
    fringe = torch.exp(-d_up.clamp_min(0) / (0.35 * length)) * _smoothstep(length, 0.5 * length, d_up) * (d_up > 0)
    cov_u = (0.6 + 0.38 * dens) * torch.maximum(line, fringe * strand)
    d_lo = ys - y_lo
    band_l = _smoothstep(-0.2, 0.15, d_lo) * torch.exp(-d_lo.clamp_min(0) / (0.2 * length)) * _smoothstep(0.5 * length, 0.2 * length, d_lo)
    cov_l = ldens * band_l * (0.4 + 0.6 * strand) * 0.7
    # a dark band along the upper margin (thick lash line in the lid's shadow; the "real" lid profile only)
    bw, bk = _s(params.lid_band[:, 0]), _s(params.lid_band[:, 1])
    band = _smoothstep(-0.4, 0.0, d_up) * _smoothstep(bw, 0.5 * bw, d_up) * (bw > 0)
    cov_u = torch.maximum(cov_u, bk * band)
    cov = ((cov_u + cov_l) * in_lid).clamp(0, 0.95).unsqueeze(1)
    img = torch.lerp(img, _col(params.hair_color) * 0.6 * (amb + light * 0.5), cov)
    img = img * _shading(params.shades, xs - _s(params.eyeball_center[:, 0]), ys - _s(params.eyeball_center[:, 1]))
    mw = _s(params.lower_margin[:, 0])
    if bool((mw > 0).any()):  # the lower lid's margin and tear film ("wet" profile only)
        mg, fw, fg = (_s(params.lower_margin[:, i]) for i in (1, 2, 3))
        band = _smoothstep(-0.1, 0.05, d_lo) * _smoothstep(mw, 0.6 * mw, d_lo) * (mw > 0) * in_lid
        film = _smoothstep(-0.1, 0.0, d_lo) * _smoothstep(fw, 0.4 * fw, d_lo) * (mw > 0) * in_lid
        tint = torch.tensor([1.08, 0.9, 0.92], dtype=img.dtype, device=img.device).view(1, 3, 1, 1)
        img = img * (1 + (mg.unsqueeze(1) * tint - 1) * band.unsqueeze(1)) * (1 + (fg - 1) * film).unsqueeze(1)

    # ---- glasses: rim (ellipse in a plane 12 mm in front of the eye) and a soft reflection on the lens
    gl = params.glasses
    if bool((gl[:, 0] > 0).any()):
        tg = (-12.0 - o[2]) / d[2]
        xg, yg = o[0] + tg * d[0], o[1] + tg * d[1]
        ay_g = 26.0 * _s(gl[:, 2])  # lens ~52 mm wide, 31-42 mm tall, centred a little below the eye
        e = _powf(_powf((xg / 26.0).abs(), 3.0) + _powf(((yg - 4.0) / ay_g).abs(), 3.0), 1 / 3)  # rounded rectangle
        rim = _smoothstep(_s(gl[:, 1]) / ay_g + 0.02, _s(gl[:, 1]) / ay_g - 0.02, (e - 1).abs()) * _s(gl[:, 0])
        rim_col = _col(params.glasses_color) * (amb + light * 0.9) + light * 0.05
        gx, gy = xg - _s(gl[:, 4]), yg - _s(gl[:, 5])  # a slanted streak of reflected light on the lens
        glare = _s(gl[:, 3]) * torch.exp(-0.5 * (((gx + 0.5 * gy) / 10.0) ** 2 + ((gy - 0.3 * gx) / 2.5) ** 2))
        glare = glare * (e < 1).to(dt) * _s(gl[:, 0])
        img = img + (light + amb) * glare.unsqueeze(1)
        img = torch.lerp(img, rim_col, rim.unsqueeze(1))

    return {"linear": img.clamp_min(0), "openness": openness, "optical_gaze": optical_gaze, "visual_gaze": visual_gaze}


def _region_sample(tex: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Sample the skin texture ``(n, C, h, w)`` at head-frame mm ``(xs, ys)`` (n, H, W); it spans 1.2 × the region."""
    hmm, wmm = REGION_MM
    grid = torch.stack([xs / (0.6 * wmm), ys / (0.6 * hmm)], -1)
    return F.grid_sample(tex, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
