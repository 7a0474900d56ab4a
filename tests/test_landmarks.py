"""Eye-region landmarks of the renders (issue 13's intermediate representation): exact labels and training on them."""

from __future__ import annotations

import dataclasses

import torch

from gazezoom.commands.train import TrainConfig, _loss, train_variant
from gazezoom.geometry import REGION_MM
from gazezoom.models import load_weights
from gazezoom.synth.params import sample_params
from gazezoom.synth.scene import LID_T, N_LIMBUS, eye_landmarks_uv, pupil_uv

SMALL = dict(patch=(8, 12), region_size=(32, 48), low_size=(8, 12), grid_size=11, fwhm=5.0)


def _frontal(n=16, **fields):
    p = sample_params(n, seed=11, lids="squint")
    zero = torch.zeros_like(p.gaze)
    return dataclasses.replace(p, head=zero, **fields)


def test_landmarks_start_with_the_pupil_and_ring_it_with_the_limbus():
    p = _frontal()
    L = eye_landmarks_uv(p)
    assert L.shape == (16, 1 + N_LIMBUS + 2 * len(LID_T), 2)
    torch.testing.assert_close(L[:, 0], pupil_uv(p))
    # looking at the camera (optical axis = label - kappa: near the camera axis), the limbus is a near-circle of
    # the iris radius around the pupil (region units: u over half the width, v over half the height, in mm)
    p0 = _frontal(gaze=torch.tensor([[0.0, 0.0]]).expand(16, 2).clone())
    L0 = eye_landmarks_uv(p0)
    mm = (L0[:, 1:1 + N_LIMBUS] - L0[:, :1]) * torch.tensor([REGION_MM[1] / 2, REGION_MM[0] / 2])
    r = mm.norm(dim=-1)
    ratio = r / p0.iris_radius[:, None]
    assert float((ratio - 1).abs().max()) < 0.12  # a circle seen nearly face on (kappa tilts it a little)
    # the lids: upper above lower at every position along the eye, and the pupil between them in u
    up, lo = L0[:, 1 + N_LIMBUS:1 + N_LIMBUS + len(LID_T)], L0[:, 1 + N_LIMBUS + len(LID_T):]
    assert bool((up[..., 1] < lo[..., 1]).all())
    assert bool((up[:, 0, 0] < L0[:, 0, 0]).all() and (L0[:, 0, 0] < up[:, -1, 0]).all())


def test_landmarks_follow_the_gaze_up_and_the_upper_lid_with_it():
    down = _frontal(gaze=torch.tensor([[-0.3, 0.0]]).expand(16, 2).clone())
    up = _frontal(gaze=torch.tensor([[0.3, 0.0]]).expand(16, 2).clone())
    Ld, Lu = eye_landmarks_uv(down), eye_landmarks_uv(up)
    assert bool((Lu[:, :1 + N_LIMBUS, 1] < Ld[:, :1 + N_LIMBUS, 1]).all())  # v grows downwards
    mid_upper = 1 + N_LIMBUS + len(LID_T) // 2
    assert bool((Lu[:, mid_upper, 1] < Ld[:, mid_upper, 1]).all())  # the upper lid follows the eye


def test_landmark_loss_weights_the_pupil_like_a_pupil_model():
    B = 4
    target = torch.zeros(B, 15, 2)
    pred = torch.zeros(B, 30)
    pred[:, 0] = 0.1  # the pupil's u off by 0.1
    loss, _ = _loss(pred, {"landmarks_uv": target}, 0.0, "landmarks")
    assert abs(float(loss) - 0.1) < 1e-6
    pred = torch.zeros(B, 30)
    pred[:, 2:] = 0.1  # every other landmark off by 0.1 in u and v: their mean L1 is 0.2
    loss, _ = _loss(pred, {"landmarks_uv": target}, 0.0, "landmarks")
    assert abs(float(loss) - 0.2) < 1e-6


def test_a_pupil_model_grows_into_a_landmark_model_keeping_its_pupil(tmp_path):
    torch.set_num_threads(1)
    cfg = TrainConfig(steps=2, batch_size=8, lr=1e-12, dataset="synthetic_squint", val_n=8, eval_every=2,
                      log_every=1, train_n=16)
    r = train_variant("uniform@P", cfg, {**SMALL, "output": "pupil"}, tmp_path / "pupil", progress=False)
    src = load_weights(r["weights"])
    r2 = train_variant("uniform@P", dataclasses.replace(cfg, init=r["weights"]), {"output": "landmarks"},
                       tmp_path / "lm", progress=False)
    assert r2["weights"].endswith("landmarks_uniform_P.safetensors")
    lm = load_weights(r2["weights"])
    assert lm.config.output == "landmarks"
    # lr ~0: the pupil model's parameters, its two outputs the first rows of the grown last layer
    theirs = dict(src.named_parameters())
    for name, p in lm.named_parameters():
        q = theirs[name]
        torch.testing.assert_close(p[: q.shape[0]] if p.shape != q.shape else p, q, atol=1e-6, rtol=0)
    assert lm.task.head[-1].weight.shape == (30, src.task.head[-1].weight.shape[1])
