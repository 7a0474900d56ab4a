"""Real-dataset loaders on tiny fixtures written in the published layouts (SYNTHETIC pixels, exact formats).

Each fixture draws simple eyes where the dataset's landmarks / boxes say they are: a white sclera, a dark iris
displaced by the labelled gaze and a red dot at the *nasal* corner, so tests can check that the eye lands in the
middle of its region and that every patch shows a left eye (nasal corner on the patch's left).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gazezoom.errors import InputValueError, UnknownNameError
from gazezoom.geometry import angular_error_deg

h5py = pytest.importorskip("h5py")
cv2 = pytest.importorskip("cv2")

REGION = (48, 80)  # (H, W): small regions keep the tests fast


def draw_eye(img: np.ndarray, centre, width: float, nasal: int, gaze=(0.0, 0.0)) -> None:
    """Eye of ``width`` px at ``centre`` (x, y); ``nasal`` = +1 when the nose is to the image's right."""
    cx, cy = centre
    ax = (int(width / 2), int(width / 4))
    cv2.ellipse(img, (int(cx), int(cy)), ax, 0, 0, 360, (235, 235, 235), -1)
    ix, iy = cx - 0.3 * width * np.sin(gaze[1]), cy - 0.3 * width * np.sin(gaze[0])
    cv2.circle(img, (int(ix), int(iy)), max(2, int(width / 8)), (40, 30, 20), -1)
    cv2.circle(img, (int(cx + nasal * 0.42 * width), int(cy)), max(2, int(width / 14)), (0, 0, 255), -1)  # BGR red


def _matlab73(path: Path, arrays: dict) -> None:
    """An HDF5 file with MATLAB v7.3's 512-byte user block and header, as MATLAB's ``save -v7.3`` writes it."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v)
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 2015 HDF5 schema 1.00 ."
    with open(path, "r+b") as f:
        f.write(head.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")


def write_mpiifacegaze(root: Path, persons=("p00", "p01"), n: int = 6, size: int = 448, seed: int = 0) -> Path:
    """``root/pXX.mat``: Data/data (N, 3, H, W) uint8 BGR, Data/label (N, 16) = gaze 2, head 2, 6 landmarks (x, y)
    (right eye outer, inner, left eye inner, outer, mouth right, left)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for p in persons:
        data, labels = [], []
        for _ in range(n):
            gaze = rng.uniform([-0.3, -0.4], [0.3, 0.4])
            img = np.full((size, size, 3), 120, np.uint8)
            d, y, w = 0.14 * size, 0.42 * size, 0.13 * size  # half the eye distance, eye height, eye width
            le, re_ = (size / 2 + d, y), (size / 2 - d, y)  # the subject's left eye is on the image's right
            draw_eye(img, le, w, nasal=-1, gaze=gaze)
            draw_eye(img, re_, w, nasal=+1, gaze=gaze)
            lm = [re_[0] - w / 2, y, re_[0] + w / 2, y, le[0] - w / 2, y, le[0] + w / 2, y,
                  size / 2 - 0.1 * size, 0.7 * size, size / 2 + 0.1 * size, 0.7 * size]
            labels.append(np.concatenate([gaze, [0.05, -0.02], lm]))
            data.append(img.transpose(2, 0, 1))
        _matlab73(root / f"{p}.mat", {"Data/data": np.stack(data), "Data/label": np.stack(labels)})
    return root


def write_xgaze(root: Path, n: int = 6, seed: int = 0, train=("subject0000.h5", "subject0001.h5", "subject0002.h5"),
                test=("subject0003.h5",)) -> Path:
    """``root/train_test_split.json`` + ``root/{train,test}/subjectXXXX.h5`` (xgaze_224); test files have no labels."""
    rng = np.random.default_rng(seed)
    for folder, names in (("train", train), ("test", test)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            patches, gazes = [], []
            for _ in range(n):
                gaze = rng.uniform([-0.3, -0.4], [0.3, 0.4])
                img = np.full((224, 224, 3), 110, np.uint8)
                draw_eye(img, (112 + 50.4, 112 - 38.4), 40, nasal=-1, gaze=gaze)  # canonical eye positions
                draw_eye(img, (112 - 50.4, 112 - 38.4), 40, nasal=+1, gaze=gaze)
                patches.append(img)
                gazes.append(gaze)
            with h5py.File(root / folder / name, "w") as f:
                f["face_patch"] = np.stack(patches)
                if folder == "train":
                    f["face_gaze"] = np.stack(gazes).astype(np.float32)
                f["face_head_pose"] = np.zeros((n, 2), np.float32)
                f["face_mat_norm"] = np.tile(np.eye(3, dtype=np.float32), (n, 1, 1))
                f["frame_index"] = np.arange(n).reshape(n, 1)
                f["cam_index"] = np.ones((n, 1), np.int64)
    split = {"train": list(train), "test": list(test), "test_person_specific": list(test)}
    (root / "train_test_split.json").write_text(json.dumps(split))
    return root


def write_gazecapture(root: Path, n: int = 4, seed: int = 0, subjects=(("00002", "train"), ("00003", "val"),
                                                                        ("00005", "test"))) -> Path:
    """Raw GazeCapture subjects: frames/*.jpg + appleFace/appleLeftEye/appleRightEye/dotInfo/frames/info/screen
    JSON. The last frame of every subject has no valid right eye (and must be skipped)."""
    rng = np.random.default_rng(seed)
    for sid, split in subjects:
        d = root / sid
        (d / "frames").mkdir(parents=True, exist_ok=True)
        face = {k: [] for k in ("X", "Y", "W", "H", "IsValid")}
        eyes = [{k: [] for k in face} for _ in range(2)]
        dot = {k: [] for k in ("DotNum", "XPts", "YPts", "XCam", "YCam", "Time")}
        names = []
        for t in range(n):
            img = np.full((640, 480, 3), 100, np.uint8)
            fx, fy = 120 + 4 * t, 200
            # Apple's "left eye" box: the one on the image's left here (the loader decides sides by position)
            boxes = [(40, 60, 60, 60), (140, 60, 60, 60)]
            for e, (x, y, w, h) in enumerate(boxes):
                for k, v in zip(("X", "Y", "W", "H"), (x, y, w, h)):
                    eyes[e][k].append(v)
                eyes[e]["IsValid"].append(0 if (e == 1 and t == n - 1) else 1)
                draw_eye(img, (fx + x + w / 2, fy + y + h / 2), 44, nasal=+1 if e == 0 else -1)
            for k, v in zip(("X", "Y", "W", "H", "IsValid"), (fx, fy, 240, 240, 1)):
                face[k].append(v)
            xc, yc = rng.uniform(-3, 3), rng.uniform(-9, -1)
            for k, v in zip(dot, (t, 100, 200, xc, yc, 0.1 * t)):
                dot[k].append(float(v))
            names.append(f"{t:05d}.jpg")
            cv2.imwrite(str(d / "frames" / names[-1]), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        for fname, obj in (("appleFace.json", face), ("appleLeftEye.json", eyes[0]), ("appleRightEye.json", eyes[1]),
                           ("dotInfo.json", dot), ("frames.json", names),
                           ("info.json", {"TotalFrames": n, "NumFaceDetections": n, "NumEyeDetections": n - 1,
                                          "Dataset": split, "DeviceName": "iPhone 6"}),
                           ("screen.json", {"H": [568] * n, "W": [320] * n, "Orientation": [1] * n})):
            (d / fname).write_text(json.dumps(obj))
    return root


@pytest.fixture(scope="module")
def mpii(tmp_path_factory):
    return write_mpiifacegaze(tmp_path_factory.mktemp("mpii") / "MPIIFaceGaze_normalized")


@pytest.fixture(scope="module")
def xgaze(tmp_path_factory):
    return write_xgaze(tmp_path_factory.mktemp("xgaze") / "xgaze_224")


@pytest.fixture(scope="module")
def gazecapture(tmp_path_factory):
    return write_gazecapture(tmp_path_factory.mktemp("gc") / "GazeCapture")


def _rgb_at(img: torch.Tensor, y: int, x: int) -> np.ndarray:
    return img[:, y, x].numpy()


def _red_column(img: torch.Tensor) -> float:
    """Mean column of strongly red pixels in a region ``(3, H, W)``."""
    r, g, b = img
    mask = (r > 0.6) & (g < 0.35) & (b < 0.35)
    assert mask.any(), "no nasal marker in the region"
    return float(mask.nonzero()[:, 1].float().mean())


@pytest.mark.parametrize("name", ["mpii", "xgaze", "gazecapture"])
def test_items_are_left_eye_regions(name, request):
    from gazezoom.data import open_dataset

    root = request.getfixturevalue(name)
    spec = {"mpii": f"mpiifacegaze:{root},test_person=p01", "xgaze": f"ethxgaze:{root},val_subjects=1",
            "gazecapture": f"gazecapture:{root}"}[name]
    ds = open_dataset(spec, "train", REGION)
    assert len(ds) % 2 == 0 and len(ds) >= 4
    for i in (0, 1):
        item = ds[i]
        img = item["image"]
        assert img.shape == (3, *REGION) and img.dtype == torch.float32
        assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0
        assert item["gaze"].shape == (2,) and torch.isfinite(item["gaze"]).all()
        assert int(item["side"]) == i
        # the eye sits in the middle of its region: sclera or iris at the centre, not background
        H, W = REGION
        win = img[:, H // 2 - 2 : H // 2 + 3, W // 2 - 8 : W // 2 + 9]
        skin = img[:, 1, 1].view(3, 1, 1)
        eye = (win - skin).abs().amax(0) > 0.12  # sclera, iris or their blend; not skin
        assert float(eye.float().mean()) > 0.9, (name, i)
        assert float(((img.min(0).values > 0.8)[:, : W // 8]).float().mean()) < 0.05  # the region's edge is skin
        # mirrored right eyes: the nasal corner is on the patch's left for both eyes
        assert _red_column(img) < W / 2 - 5, (name, i)


def test_the_two_eyes_of_a_sample_read_it_once(xgaze, monkeypatch):
    """Items 2s and 2s + 1 share one source read (evaluation reads them in order); another sample reads again."""
    from gazezoom.data import open_dataset

    ds = open_dataset(f"ethxgaze:{xgaze},val_subjects=1", "train", REGION)
    calls, sample = [], ds.sample
    monkeypatch.setattr(ds, "sample", lambda s: calls.append(s) or sample(s))
    left, right, other = ds[0], ds[1], ds[2]
    assert calls == [0, 1]
    assert not torch.equal(left["image"], right["image"]) and not torch.equal(left["image"], other["image"])


def test_mpii_gaze_is_rotated_into_each_eyes_space(mpii, tmp_path):
    """A face-space gaze that points from an eye straight at the camera is (0, 0) in that eye's normalised space."""
    from gazezoom.data import open_dataset
    from gazezoom.data.facepatch import eye_gaze

    ds = open_dataset(f"mpiifacegaze:{mpii},test_person=p00", "test", REGION)
    left, right = ds[0], ds[1]
    for item in (left, right):
        R = item["R_norm"].double().numpy()
        c = item["eye_mm"].double().numpy()
        g_face = -c / np.linalg.norm(c)  # from the eye to the camera
        py = eye_gaze(g_face[None], np.stack([R, R])[None])[0, 0]
        assert np.allclose(py, 0.0, atol=1e-6)  # float32 storage of R_norm and eye_mm
    # the published label, rotated: differs from the face-space label by at most the eye's offset angle (~2 deg)
    with h5py.File(mpii / "p00.mat", "r") as f:
        lab = np.asarray(f["Data/label"][0, :2])
    err = float(angular_error_deg(left["gaze"].double().numpy(), lab))
    assert 0.3 < err < 4.0
    mirrored = right["gaze"].double().numpy() * [1, -1]
    assert float(angular_error_deg(mirrored, lab)) < 4.0


def test_splits(mpii, xgaze, gazecapture):
    from gazezoom.data import open_dataset

    assert len(open_dataset(f"mpiifacegaze:{mpii},test_person=p01", "train", REGION)) == 2 * 6
    test = open_dataset(f"mpiifacegaze:{mpii},test_person=p01", "test", REGION)
    assert {int(test[i]["person"]) for i in range(len(test))} == {1}
    assert len(open_dataset(f"ethxgaze:{xgaze},val_subjects=1", "train", REGION)) == 2 * 2 * 6
    assert len(open_dataset(f"ethxgaze:{xgaze},val_subjects=1", "val", REGION)) == 2 * 6
    assert len(open_dataset(f"ethxgaze:{xgaze},val_subjects=0", "train", REGION)) == 2 * 3 * 6
    unlabelled = open_dataset(f"ethxgaze:{xgaze}", "test", REGION)
    assert "gaze" not in unlabelled[0] and unlabelled[0]["image"].shape == (3, *REGION)
    assert len(open_dataset(f"ethxgaze:{xgaze}", "test_person_specific", REGION)) == 2 * 6
    for split, person in (("train", 2), ("val", 3), ("test", 5)):
        ds = open_dataset(f"gazecapture:{gazecapture}", split, REGION)
        assert len(ds) == 2 * 3  # 4 frames, the last without a valid right eye
        assert int(ds[0]["person"]) == person


def test_gazecapture_label_round_trips_to_the_dot(gazecapture):
    """Predicting exactly the label puts the gaze ray on the dot (0 cm); a 5 deg error moves it by ~3 cm at 32 cm."""
    from torch.utils.data import default_collate

    from gazezoom.data import open_dataset
    from gazezoom.data.gazecapture import on_screen_cm

    ds = open_dataset(f"gazecapture:{gazecapture}", "val", REGION)
    b = default_collate([ds[i] for i in range(len(ds))])
    assert float(on_screen_cm(b["gaze"], b).max()) < 1e-3
    depth = float(b["eye_mm"][0, 2])
    assert 250 < depth < 400  # 63 mm between the eye boxes' centres at 0.8 x 640 px focal length
    off = on_screen_cm(b["gaze"] + torch.tensor([0.0, np.radians(5.0)]), b)
    assert torch.all((off > 2.0) & (off < 4.5)), off


def test_bad_input(tmp_path, mpii, xgaze):
    from gazezoom.data import open_dataset, parse_spec, require

    with pytest.raises(UnknownNameError, match="choose one of: ethxgaze, gazecapture, mpiifacegaze"):
        parse_spec("mpiigaze360:/x")
    with pytest.raises(InputValueError, match="NAME:PATH"):
        parse_spec("ethxgaze")
    with pytest.raises(InputValueError, match="key=value"):
        parse_spec(f"ethxgaze:{xgaze},oops")
    with pytest.raises(InputValueError, match="does not exist"):
        open_dataset(f"ethxgaze:{tmp_path / 'nope'}")
    with pytest.raises(InputValueError, match="split must be one of"):
        open_dataset(f"ethxgaze:{xgaze}", "dev")
    with pytest.raises(InputValueError, match="p07"):
        open_dataset(f"mpiifacegaze:{mpii},test_person=p07")
    with pytest.raises(InputValueError, match="no pXX.mat"):
        open_dataset(f"mpiifacegaze:{tmp_path}")
    with pytest.raises(InputValueError, match="train_test_split.json"):
        open_dataset(f"ethxgaze:{tmp_path}")
    with pytest.raises(InputValueError, match="no GazeCapture subject"):
        open_dataset(f"gazecapture:{tmp_path}")
    with pytest.raises(InputValueError, match="pip install not_a_package_xyz"):
        require("not_a_package_xyz", "reading something")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "p00.mat").write_bytes(b"not hdf5")
    (bad / "p01.mat").write_bytes(b"not hdf5")
    with pytest.raises(Exception, match="not an MPIIFaceGaze normalised .mat"):
        open_dataset(f"mpiifacegaze:{bad}")
    (bad / "train_test_split.json").write_text('{"train": ["subject0000.h5",')  # cut short
    with pytest.raises(InputValueError, match="train_test_split.json is missing or not valid JSON"):
        open_dataset(f"ethxgaze:{bad}")
    (bad / "train_test_split.json").write_text('["subject0000.h5"]')
    with pytest.raises(InputValueError, match="must be a JSON object"):
        open_dataset(f"ethxgaze:{bad}")


def test_short_training_and_eval_on_each_dataset(mpii, xgaze, gazecapture, tmp_path, capsys):
    """`gazezoom train --dataset NAME:PATH` for a few steps, then `gazezoom eval --data NAME:PATH` on it."""
    from gazezoom.cli import main

    torch.set_num_threads(1)
    cases = [
        (f"mpiifacegaze:{mpii},test_person=p01", "test", "angular_error_deg", "deg"),
        (f"ethxgaze:{xgaze},val_subjects=1", "val", "angular_error_deg", "deg"),
        (f"gazecapture:{gazecapture}", "test", "on_screen_cm", "cm"),
    ]
    for k, (spec, split, metric, unit) in enumerate(cases):
        out = tmp_path / f"run{k}"
        rc = main(["train", "--variant", "uniform@P", "--dataset", spec, "--steps", "3", "--batch-size", "4",
                   "--eval-every", "3", "--val-n", "8", "--patch", "12", "20", "--region", *map(str, REGION),
                   "--low-size", "12", "20", "--out", str(out), "--quiet", "--threads", "1"])
        assert rc == 0
        side = json.loads((out / "gaze_uniform_P.json").read_text())
        assert side["training"]["data"].startswith(spec.split(":")[0] + " real data")
        assert 4 <= side["heldout"]["n"] <= 8  # --val-n 8 (iter_batches drops a partial last batch)
        capsys.readouterr()
        rc = main(["eval", "--data", spec, "--split", split, "--weights", str(out), "--variants", "uniform@P",
                   "--json", "--batch-size", "5"])
        assert rc == 0
        report = json.loads(capsys.readouterr().out)
        r = report["results"]["uniform@P"]
        assert report["metric"] == metric and report["unit"] == unit
        assert r["n"] == report["n"] and r["n"] >= 6 and np.isfinite(r["mean"]) and r["mean"] > 0


def test_eval_needs_exactly_one_source(tmp_path, capsys):
    from gazezoom.cli import main

    assert main(["eval", "--weights", str(tmp_path)]) == 2
    assert "exactly one of --synthetic" in capsys.readouterr().err
