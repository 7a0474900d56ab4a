"""Training: a tiny run on the toy stand-in (synthetic) learns, writes its files, and resumes."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from gazezoom.cli import main
from gazezoom.commands.train import TrainConfig, train_variant
from gazezoom.errors import InputValueError, WeightsMismatchError
from gazezoom.models import load_weights, read_sidecar
from gazezoom.models.data import DATASETS, iter_batches

SMALL = dict(patch=(8, 12), region_size=(32, 48), low_size=(8, 12), grid_size=11, fwhm=5.0)


def _cfg(**kw):
    base = dict(steps=40, batch_size=16, lr=3e-3, dataset="toy", val_n=32, eval_every=20, log_every=10,
                degrade_until=0.25)
    return TrainConfig(**{**base, **kw})


def test_tiny_training_lowers_the_loss_and_writes_everything(tmp_path):
    torch.set_num_threads(1)
    r = train_variant("uniform@P", _cfg(), SMALL, tmp_path, progress=False)
    rows = list(csv.DictReader(open(tmp_path / "gaze_uniform_P.csv")))
    assert [int(x["step"]) for x in rows] == [10, 20, 30, 40]
    assert float(rows[-1]["loss"]) < 0.7 * float(rows[0]["loss"])
    assert rows[1]["val_mean_deg"] and rows[3]["val_mean_deg"] and not rows[0]["val_mean_deg"]
    for suffix in (".safetensors", ".json", ".png"):
        assert (tmp_path / f"gaze_uniform_P{suffix}").stat().st_size > 0
    assert (tmp_path / "train_state" / "gaze_uniform_P.pt").is_file()
    side = read_sidecar(tmp_path / "gaze_uniform_P.json")
    assert side["step"] == 40 and side["training"]["dataset"] == "toy" and side["training"]["seed"] == 0
    assert side["heldout"]["mean_deg"] == pytest.approx(r["val"]["mean_deg"])
    assert side["config"]["patch"] == [8, 12]
    load_weights(tmp_path / "gaze_uniform_P.safetensors", variant="uniform@P")


def test_resume_continues_the_step_count(tmp_path):
    torch.set_num_threads(1)
    cfg = _cfg(steps=10, eval_every=5, log_every=5)
    train_variant("sampler@P", cfg, SMALL, tmp_path, progress=False)
    first = load_weights(tmp_path / "gaze_sampler_P.safetensors")
    r = train_variant("sampler@P", _cfg(steps=15, eval_every=5, log_every=5), SMALL, tmp_path, resume=True,
                      progress=False)
    assert r["step"] == 15
    rows = list(csv.DictReader(open(tmp_path / "gaze_sampler_P.csv")))
    assert [int(x["step"]) for x in rows] == [5, 10, 15]
    assert read_sidecar(tmp_path / "gaze_sampler_P.json")["step"] == 15
    second = load_weights(tmp_path / "gaze_sampler_P.safetensors")
    assert any(not torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    with pytest.raises(WeightsMismatchError, match="model config"):
        train_variant("sampler@P", _cfg(steps=20), {**SMALL, "grid_size": 9}, tmp_path, resume=True, progress=False)


def test_per_sample_datasets_plug_in_unchanged():
    """A real-dataset loader returns one sample per item; the iterator batches it like the renderer's batches."""
    toy = DATASETS.get("toy")(n=12, seed=0, split="train", batch_size=12, region_size=(32, 48), device="cpu")[0]

    class PerSample(torch.utils.data.Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            return {k: v[i] for k, v in toy.items()}

    it = iter_batches(PerSample(), 5, seed=3)
    b1, _b2, b3 = next(it), next(it), next(it)  # 2 batches per epoch (drop last), then a new shuffled epoch
    assert b1["image"].shape == (5, 3, 32, 48) and b1["gaze"].shape == (5, 2)
    again = list(zip(range(3), iter_batches(PerSample(), 5, seed=3, start=2)))[0][1]
    torch.testing.assert_close(again["gaze"], b3["gaze"])  # resuming at batch 2 sees what batch 2 was


def test_train_cli_all_variants_tiny(tmp_path, capsys):
    torch.set_num_threads(1)
    rc = main(["train", "--variant", "all", "--dataset", "toy", "--steps", "2", "--batch-size", "4", "--val-n", "8",
               "--train-n", "8", "--cache-dir", "",
               "--eval-every", "2", "--patch", "8", "12", "--region", "32", "48", "--low-size", "8", "12",
               "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    summary = json.loads((tmp_path / "train_summary.json").read_text())
    assert [s["variant"] for s in summary] == ["uniform@P", "sampler@P", "center_crop@P", "uniform@2P", "uniform@4P"]
    assert (tmp_path / "gaze_curves.png").is_file()
    assert "validation mean" in capsys.readouterr().err


def test_train_cli_sampler_kernel_options_reach_the_sidecar(tmp_path, capsys):
    """--fwhm / --grid-size set the sampler's attraction kernel, --crop-frac the crop's field of view; they travel in
    the sidecar and load back."""
    torch.set_num_threads(1)
    tiny = ["--dataset", "toy", "--steps", "2", "--batch-size", "4", "--val-n", "8", "--train-n", "8", "--cache-dir",
            "", "--eval-every", "2", "--patch", "8", "12", "--region", "32", "48", "--low-size", "8", "12", "--quiet"]
    assert main(["train", "--variant", "sampler,center_crop", "--fwhm", "4.5", "--grid-size", "13", "--crop-frac",
                 "0.4", "--out", str(tmp_path), *tiny]) == 0
    cfg = read_sidecar(tmp_path / "gaze_sampler_P.json")["config"]
    assert (cfg["fwhm"], cfg["grid_size"]) == (4.5, 13)
    model = load_weights(tmp_path / "gaze_sampler_P.safetensors")
    assert (model.front.sampler.fwhm, model.front.sampler.grid_size) == (4.5, 13)
    crop = load_weights(tmp_path / "gaze_center_crop_P.safetensors")
    assert crop.config.crop_frac == 0.4 and crop.front.extent == 0.4
    capsys.readouterr()
    rc = main(["train", "--variant", "sampler", "--fwhm", "0", "--out", str(tmp_path / "bad"), *tiny])
    assert rc == InputValueError.exit_code and "fwhm" in capsys.readouterr().err


def test_eval_every_zero_is_a_typed_error(tmp_path, capsys):
    rc = main(["train", "--variant", "uniform@P", "--dataset", "toy", "--eval-every", "0", "--out", str(tmp_path),
               "--quiet"])
    assert rc == InputValueError.exit_code and "--eval-every must be >= 1" in capsys.readouterr().err


def test_amp_needs_cuda(tmp_path):
    with pytest.raises(InputValueError, match="--amp needs --device cuda"):
        train_variant("uniform@P", _cfg(amp=True), SMALL, tmp_path, progress=False)


@pytest.mark.gpu
def test_cuda_amp_step(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    r = train_variant("sampler@P", _cfg(steps=4, eval_every=2, device="cuda", amp=True), SMALL, tmp_path,
                      progress=False)
    assert r["step"] == 4 and math.isfinite(r["val"]["mean_deg"])


def test_parallel_render_cache_equals_serial(tmp_path):
    """Rendering a cache in 3 processes gives the very same eyes as one process (items are seeded by index), and
    a cache on disk is read back memory-mapped."""
    from gazezoom.models.data import render_cache

    args = (40, 3, "train", 8, (24, 40), "cpu")  # 5 batches over 3 workers: uneven shards
    serial = render_cache(DATASETS.get("toy")(*args), progress=False)
    path = tmp_path / "c.pt"
    par = render_cache(DATASETS.get("toy")(*args), path, progress=False, workers=3, spec=("toy", args))
    assert set(par) == set(serial)
    for k in serial:
        assert torch.equal(par[k], serial[k]), k
    again = render_cache(DATASETS.get("toy")(*args), path, progress=False)
    assert torch.equal(again["image"], serial["image"])


def test_train_cli_jobs_trains_variants_side_by_side(tmp_path, capsys):
    """--jobs 2 trains a comma-separated list of variants in two processes sharing one rendered cache; each gets
    the same result as when it is trained alone (same data, init and budget)."""
    common = ["--dataset", "toy", "--steps", "3", "--batch-size", "4", "--val-n", "8", "--eval-every", "3",
              "--train-n", "16", "--cache-dir", str(tmp_path / "cache"), "--quiet", "--patch", "6", "10",
              "--region", "24", "40", "--low-size", "6", "10", "--threads", "1"]
    rc = main(["train", "--variant", "uniform@P,sampler", "--jobs", "2", "--render-workers", "2",
               "--out", str(tmp_path / "par"), *common])
    assert rc == 0
    rc = main(["train", "--variant", "sampler@P", "--out", str(tmp_path / "one"), *common])
    assert rc == 0
    summary = json.loads((tmp_path / "par" / "train_summary.json").read_text())
    assert [r["variant"] for r in summary] == ["uniform@P", "sampler@P"]
    a = load_weights(tmp_path / "par" / "gaze_sampler_P.safetensors").state_dict()
    b = load_weights(tmp_path / "one" / "gaze_sampler_P.safetensors").state_dict()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k


def test_train_cli_jobs_needs_a_cache_dir(tmp_path, capsys):
    rc = main(["train", "--variant", "uniform@P,sampler@P", "--dataset", "toy", "--jobs", "2", "--cache-dir", "",
               "--out", str(tmp_path)])
    assert rc != 0
    assert "--cache-dir" in capsys.readouterr().err


def test_init_fine_tunes_from_given_weights_and_checks_sizes(tmp_path, capsys):
    """--init starts from trained weights (adopting their sizes) and records them; asked-for sizes that differ from
    the file's are a WeightsMismatchError, not a silently different network."""
    from gazezoom.fileio import file_sha256

    torch.set_num_threads(1)
    first = tmp_path / "first"
    train_variant("uniform@P", _cfg(steps=20), SMALL, first, progress=False)
    src = load_weights(first / "gaze_uniform_P.safetensors")
    # a near-zero learning rate: the fine-tuned parameters stay the loaded ones, not a fresh random init
    r = train_variant("uniform@P", _cfg(steps=2, lr=1e-12, eval_every=2, init=str(first)), None, tmp_path / "ft",
                      progress=False)
    ft = load_weights(r["weights"])
    for (name, a), b in zip(src.named_parameters(), ft.parameters()):
        assert torch.allclose(a, b, atol=1e-6), name
    side = read_sidecar(tmp_path / "ft" / "gaze_uniform_P.json")
    assert side["config"]["patch"] == [8, 12]  # adopted from the file: no sizes were given
    assert side["training"]["init_weights"]["sha256"] == file_sha256(first / "gaze_uniform_P.safetensors")
    rc = main(["train", "--variant", "uniform@P", "--dataset", "toy", "--steps", "1", "--init", str(first),
               "--patch", "6", "10", "--out", str(tmp_path / "bad"), "--quiet", "--cache-dir", ""])
    assert rc == WeightsMismatchError.exit_code
    assert "--init" in capsys.readouterr().err


def test_a_failing_render_worker_is_a_typed_error(tmp_path):
    """A worker that cannot build its dataset exits non-zero; the parent says which items failed (no partial cache)."""
    from gazezoom.models.data import render_cache

    good = DATASETS.get("toy")(16, 0, "train", 8, (24, 40), "cpu")
    bad_spec = ("toy", (16, 0, "train", 0, (24, 40), "cpu"))  # batch size 0: ToyEyes refuses it in the worker
    with pytest.raises(InputValueError, match=r"render worker \d \(items .*\) failed"):
        render_cache(good, tmp_path / "c.pt", progress=False, workers=2, spec=bad_spec)
    assert not (tmp_path / "c.pt").exists()
