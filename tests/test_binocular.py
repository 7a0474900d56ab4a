"""Binocular reading (issue 13): pairs of rendered eyes, the pair head, paired batches, paired evaluation."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gazezoom.commands.train import TrainConfig, train_variant
from gazezoom.errors import InputValueError, ShapeError
from gazezoom.models import GazeNet, ModelConfig, load_weights
from gazezoom.models.data import GROUP, CachedEyes
from gazezoom.models.variants import PairHead, forward_pairs
from gazezoom.synth import SyntheticEyeDataset
from gazezoom.synth.params import partner_params, sample_params

SMALL = dict(patch=(8, 12), region_size=(32, 48), low_size=(8, 12), grid_size=11, fwhm=5.0)


def test_partner_params_share_the_person_and_asymmetry_stays_within_its_bounds():
    p = sample_params(64, seed=3, lids="squint")
    same = partner_params(p)
    torch.testing.assert_close(same.gaze[:, 0], p.gaze[:, 0])  # the pitch is the person's, not the eye's
    torch.testing.assert_close(same.lid_upper, p.lid_upper)
    torch.testing.assert_close(same.head[:, 1], -p.head[:, 1])  # mirrored patch: the head yaw flips
    q = partner_params(p, asymmetry=1.0, seed=5)
    d_up = (q.lid_upper[:, 0] - p.lid_upper[:, 0]).abs()
    d_w = (q.eye_width_mm / p.eye_width_mm - 1).abs()
    assert 0 < float(d_up.max()) <= 0.6 + 1e-6 and float(d_w.max()) <= 0.04 + 1e-6
    assert float(d_up.std()) > 0.05  # drawn per face, not one constant shift
    torch.testing.assert_close(q.gaze, same.gaze)  # only the anatomy differs
    torch.testing.assert_close(partner_params(p, asymmetry=1.0, seed=5).lid_lower, q.lid_lower)  # reproducible


def test_paired_dataset_interleaves_the_two_eyes_of_each_face():
    ds = SyntheticEyeDataset(8, 0, "train", 4, (32, 48), lids="squint", pairs=1.0)
    b = ds[1]
    assert b["image"].shape == (4, 3, 32, 48)
    torch.testing.assert_close(b["gaze"][0::2, 0], b["gaze"][1::2, 0])  # left, right of one face: one pitch
    assert not torch.allclose(b["gaze"][0::2, 1], b["gaze"][1::2, 1])  # converging yaw, mirrored
    torch.testing.assert_close(ds[1]["image"], b["image"])  # batch i is the same on every call
    with pytest.raises(InputValueError, match="even"):
        SyntheticEyeDataset(9, 0, "train", 4, (32, 48), pairs=1.0)


def test_cached_pairs_are_shuffled_as_pairs():
    n = 40
    cache = {"image": torch.zeros(n, 3, 4, 4, dtype=torch.uint8), "face": torch.arange(n) // 2,
             "eye": torch.arange(n) % 2}
    ds = CachedEyes(cache, batch_size=8, n_batches=12, seed=3, group=2)
    seen = torch.cat([ds[i]["face"] for i in range(5)])
    for i in range(12):
        b = ds[i]
        assert torch.equal(b["face"][0::2], b["face"][1::2]) and torch.equal(b["eye"], torch.tensor([0, 1] * 4))
    assert not torch.equal(seen, torch.arange(0, 20).repeat_interleave(2))  # shuffled, not in order
    with pytest.raises(InputValueError, match="divisible"):
        CachedEyes(cache, batch_size=7, n_batches=1, group=2)
    assert GROUP["synthetic_pairs"] == 2


def test_pair_head_starts_as_the_monocular_model_and_each_eye_keeps_its_own_reading():
    torch.manual_seed(0)
    mono = GazeNet(ModelConfig(variant="uniform@P", **SMALL)).eval()
    bino = GazeNet(ModelConfig(variant="uniform@P", binocular=True, **SMALL)).eval()
    missing, unexpected = bino.load_state_dict(mono.state_dict(), strict=False)
    assert all(k.startswith("pair.") for k in missing) and missing and not unexpected
    x = torch.rand(6, 3, 32, 48)
    torch.testing.assert_close(bino(x).pitchyaw, mono(x).pitchyaw)  # zero-initialised pair term
    torch.nn.init.normal_(bino.pair.net[-1].weight, std=0.5)
    out = bino(x).pitchyaw
    assert not torch.allclose(out[0::2], out[1::2])  # the two eyes are not copied into each other
    # eye 0's reading depends on its partner (eye 1) and not on another face's eyes (2..5)
    y = x.clone()
    y[1] = torch.rand(3, 32, 48)
    assert not torch.allclose(bino(y).pitchyaw[0], out[0])
    torch.testing.assert_close(bino(y).pitchyaw[2:], out[2:])
    with pytest.raises(ShapeError, match="binocular"):
        PairHead(16)(torch.zeros(3, 16))
    left, right = forward_pairs(bino, x[0::2], x[1::2])
    torch.testing.assert_close(left.pitchyaw, out[0::2])
    torch.testing.assert_close(right.pitchyaw, out[1::2])


def test_binocular_fine_tuning_from_a_monocular_model_and_its_data_check(tmp_path):
    torch.set_num_threads(1)
    cfg = TrainConfig(steps=4, batch_size=8, lr=1e-3, dataset="synthetic_pairs", val_n=8, eval_every=4,
                      log_every=2, train_n=16)
    train_variant("uniform@P", dataclasses.replace(cfg, dataset="synthetic_squint"), {**SMALL, "output": "pupil"},
                  tmp_path / "mono", progress=False)
    init = str(tmp_path / "mono" / "pupil_uniform_P.safetensors")
    r = train_variant("uniform@P", dataclasses.replace(cfg, init=init), {"binocular": True}, tmp_path / "bino",
                      progress=False)
    m = load_weights(r["weights"])
    assert m.config.binocular and m.config.output == "pupil" and m.pair is not None
    with pytest.raises(InputValueError, match="synthetic_pairs"):
        train_variant("uniform@P", dataclasses.replace(cfg, init=init, dataset="synthetic_squint"),
                      {"binocular": True}, tmp_path / "bad", progress=False)


def test_binocular_sampler_exports_to_onnx_and_matches_torch(tmp_path):
    """The pair head in the exported graph: ONNX Runtime agrees with torch on 2 and 4 eyes (pairs)."""
    pytest.importorskip("onnxruntime")
    from gazezoom.commands.export import export_onnx, verify_onnx

    torch.manual_seed(0)
    sizes = dict(patch=(12, 20), region_size=(48, 80), low_size=(12, 20), grid_size=11, fwhm=5.0)  # as exported
    m = GazeNet(ModelConfig(variant="sampler@P", binocular=True, output="pupil", **sizes)).eval()
    torch.nn.init.normal_(m.pair.net[-1].weight, std=0.3)  # a pair term that matters
    path = export_onnx(m, tmp_path / "pupil_sampler_P.onnx")
    diffs = verify_onnx(m, path)
    assert diffs["pitchyaw"] < 1e-4
