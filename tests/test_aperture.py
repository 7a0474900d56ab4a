"""The eye's aperture (issue 13): masks from rendered lid margins and from MediaPipe's eye contour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gazezoom.errors import InputValueError
from gazezoom.face.eyes import EYE_CONTOURS, aperture_polygon, mask_apertures
from gazezoom.synth import APERTURE_FILL, EyeRenderer, mask_outside_aperture
from gazezoom.synth.scene import aperture_mask, lid_polylines_uv, pupil_uv


def test_aperture_mask_fills_between_the_polylines_only():
    u = torch.linspace(-0.5, 0.5, 5)
    upper = torch.stack([u, torch.full_like(u, -0.2)], -1)[None]
    lower = torch.stack([u, torch.full_like(u, 0.3)], -1)[None]
    m = aperture_mask(upper, lower, (21, 41))[0]  # pixel centres every 0.1 in v, 0.05 in u
    assert float(m[10, 20]) == 1.0 and float(m[0, 20]) == 0.0 and float(m[20, 20]) == 0.0
    assert float(m[10, 0]) == 0.0 and float(m[10, 40]) == 0.0  # outside the corners
    # v = -0.2 (row 8) is the edge itself: half covered; a pixel further in or out is all in or all out
    assert abs(float(m[8, 20]) - 0.5) < 1e-5 and float(m[9, 20]) == 1.0 and float(m[7, 20]) == 0.0
    assert 0.0 < float(m[:, 20].sum()) < 21


def test_rendered_lid_polylines_bound_the_visible_pupil():
    r = EyeRenderer((48, 80))
    p = r.sample_params(32, seed=2)
    up, lo = lid_polylines_uv(p)
    assert up.shape == lo.shape == (32, 9, 2)
    torch.testing.assert_close(up[:, [0, -1]], lo[:, [0, -1]], atol=0.02, rtol=0)  # the corners are shared
    assert bool((up[:, 4, 1] < lo[:, 4, 1]).all())
    img = r.render(p)["image"]
    out = mask_outside_aperture(img, p, seed=0)
    assert torch.allclose(out[:, :, 0, 0], torch.tensor(APERTURE_FILL))  # the region's corner: skin, painted
    # the pupil of open eyes whose pupil lies between the lids keeps its pixel
    uv = pupil_uv(p)
    j = ((uv[:, 0] + 1) / 2 * 79).round().long()
    i = ((uv[:, 1] + 1) / 2 * 47).round().long()
    m = aperture_mask(up, lo, (48, 80))
    inside = m[torch.arange(32), i, j] == 1.0
    assert int(inside.sum()) > 10
    k = torch.nonzero(inside)[:, 0]
    same = (out[k, :, i[k], j[k]] - img[k, :, i[k], j[k]]).abs().amax(-1) < 0.2  # within the contour's jitter
    assert float(same.float().mean()) > 0.8


def test_mask_apertures_on_a_real_face(media_dir):
    pytest.importorskip("mediapipe")
    from gazezoom.face.frontend import FrontEnd
    from gazezoom.io.readers import read_image

    img = read_image(media_dir / "obama.jpg")
    with FrontEnd(mode="image") as fe:
        face = fe.process(img)[0]
    out = mask_apertures(img, face.landmarks_px)
    assert out.shape == img.shape and out.dtype == np.uint8
    L = np.asarray(face.landmarks_px)[:, :2]
    for side in ("left", "right"):
        poly = aperture_polygon(face.landmarks_px, side)
        assert poly.shape == (16, 2)
        c = poly.mean(0).round().astype(int)  # inside the aperture: kept
        np.testing.assert_array_equal(out[c[1], c[0]], img[c[1], c[0]])
        up = L[EYE_CONTOURS[side][0][4]]  # 6 px above the upper lid's middle: painted grey
        y, x = int(up[1]) - 6, int(up[0])
        np.testing.assert_array_equal(out[y, x], [128, 128, 128])
    with pytest.raises(InputValueError, match="uint8"):
        mask_apertures(img.astype(np.float32), face.landmarks_px)
