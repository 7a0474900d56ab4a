"""Data-parallel training: the sharded batch sequence, and `gazezoom train` under torchrun with 2 CPU processes (gloo),
resumed with 1 process."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gazezoom.distributed import DistContext, all_mean, setup, shard_batches, unwrap, wrap
from gazezoom.errors import InputValueError
from gazezoom.models.data import ToyEyes, iter_batches


class _Samples(torch.utils.data.Dataset):
    """Per-sample items whose image encodes the index (to follow them through the sampler)."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"image": torch.full((3, 2, 2), float(i)), "gaze": torch.tensor([float(i), 0.0])}


def _ids(batch) -> list[int]:
    return batch["gaze"][:, 0].long().tolist()


@pytest.mark.parametrize("batched", [True, False])
def test_shards_cover_the_single_process_sequence(batched):
    ds = ToyEyes(24, 0, "train", 4, (8, 12)) if batched else _Samples()
    bs, n = 4, 7  # 7 batches: more than one epoch of the per-sample set (2 batches per epoch)
    ref = [b for _, b in zip(range(n), iter_batches(ds, bs, start=3, seed=5))]
    alone = [b for _, b in zip(range(n), shard_batches(ds, bs, start=3, seed=5))]
    for a, b in zip(ref, alone):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["gaze"], b["gaze"])
    shards = [list(b for _, b in zip(range(4), shard_batches(ds, bs, start=3, rank=r, world=2, seed=5))) for r in (0, 1)]
    interleaved = [shards[k % 2][k // 2] for k in range(n)]
    for a, b in zip(ref, interleaved):
        assert torch.equal(a["image"], b["image"])
    if not batched:  # global batches 4 (rank 1) and 5 (rank 0) form epoch 2: no sample twice
        epoch2 = _ids(shards[1][0]) + _ids(shards[0][1])
        assert len(set(epoch2)) == len(epoch2) == 8


def test_single_process_is_a_no_op():
    ctx = setup("cpu")
    assert ctx == DistContext() and ctx.is_main and not ctx.active
    m = torch.nn.Linear(2, 2)
    assert wrap(m, ctx) is m and unwrap(m) is m
    assert all_mean(3.5, ctx) == 3.5
    with pytest.raises(InputValueError, match="rank < world"):
        next(shard_batches(_Samples(), 4, rank=2, world=2))
    with pytest.raises(InputValueError, match="fewer than one batch"):
        next(shard_batches(_Samples(), 11))


def _train(out, nproc: int, steps: int, resume: bool = False) -> subprocess.CompletedProcess:
    args = ["--variant", "uniform@P", "--dataset", "toy", "--steps", str(steps), "--batch-size", "8",
            "--eval-every", "2", "--val-n", "16", "--patch", "12", "20", "--region", "48", "80", "--low-size",
            "12", "20", "--out", str(out), "--quiet", "--threads", "1",
            # one cache for every rank (each renders it when it is missing: the writes must not collide)
            "--cache-dir", str(Path(out).parent / "cache")] + (["--resume"] if resume else [])
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "gazezoom", "train", *args]
    else:
        cmd = [sys.executable, "-m", "gazezoom", "train", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.getcwd())
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.slow
def test_torchrun_two_gloo_processes_then_resume_with_one(tmp_path):
    out = tmp_path / "run"
    r = _train(out, 2, 4)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr.count("uniform@P: step 4") == 1  # rank 0 alone reports
    rows = list(csv.DictReader(open(out / "gaze_uniform_P.csv")))
    assert [int(x["step"]) for x in rows] == [2, 4]  # one writer: no duplicated rows
    st = torch.load(out / "train_state" / "gaze_uniform_P.pt", weights_only=True)
    assert (st["step"], st["batches_seen"], st["processes"]) == (4, 8, 2)
    w2 = dict(st["model"])

    r = _train(out, 1, 6, resume=True)  # another number of processes: continues the same global batch sequence
    assert r.returncode == 0, r.stderr[-3000:]
    st = torch.load(out / "train_state" / "gaze_uniform_P.pt", weights_only=True)
    assert (st["step"], st["batches_seen"], st["processes"]) == (6, 10, 1)
    assert any(not torch.equal(w2[k], st["model"][k]) for k in w2)  # it trained on from the 2-process weights
    rows = list(csv.DictReader(open(out / "gaze_uniform_P.csv")))
    assert [int(x["step"]) for x in rows] == [2, 4, 6]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_mixed_precision_training(tmp_path):
    """bfloat16 autocast on the GPU, data generated on the GPU; the weights load back on the CPU."""
    from gazezoom.cli import main
    from gazezoom.models import load_weights

    out = tmp_path / "gpu"
    assert main(["train", "--variant", "sampler@P", "--dataset", "toy", "--steps", "4", "--batch-size", "16",
                 "--eval-every", "2", "--val-n", "32", "--device", "cuda", "--amp", "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(open(out / "gaze_sampler_P.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4] and all(float(r["loss"]) > 0 for r in rows)
    m = load_weights(out / "gaze_sampler_P.safetensors")
    assert all(torch.isfinite(p).all() for p in m.parameters())
