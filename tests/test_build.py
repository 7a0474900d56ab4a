"""The one pipeline builder: stage resolution, identities, profiles, front-end only."""

from __future__ import annotations

import numpy as np
import pytest

from gazezoom.build import GazeSetup, build_pipeline, load_gaze
from gazezoom.errors import InputValueError, ModelFileError, ProfileError
from gazezoom.fileio import WEIGHTS_DIR
from gazezoom.io.readers import read_image


def test_load_gaze_resolves_the_stage_from_the_weights():
    folder = load_gaze(None, weights=WEIGHTS_DIR)
    assert folder.name == "fusion" and folder.weights.name == "pupil_sampler_P.safetensors"
    assert folder.identity.startswith("gaze_fusion@v4:pupil_sampler_P@")
    net = load_gaze(None, weights=WEIGHTS_DIR / "gaze_sampler_P.safetensors")  # a gaze network file runs as one
    assert net.name == "network" and net.identity.startswith("gaze_sampler_P@")
    geo = load_gaze("geometric")
    assert geo.weights is None and geo.identity == "gaze_geometric@v2" and "no learned weights" in geo.note
    with pytest.raises(ModelFileError, match="pupil_sampler_P"):
        load_gaze("fusion", weights=WEIGHTS_DIR / "nowhere")


def test_build_pipeline_front_end_only_and_with_a_stage(media_dir):
    img = read_image(media_dir / "obama.jpg")
    with build_pipeline(gaze=False, mode="image") as pipe:
        r = pipe.process(img)
        assert r.face is not None and r.gaze is None
    with build_pipeline(gaze="geometric", mode="image", display=False) as pipe:
        g = pipe.process(img).gaze
        assert g is not None and np.all(np.isfinite(g.vector_cam))


def test_build_pipeline_checks_the_profile_against_the_stage(tmp_path):
    with pytest.raises(InputValueError, match="needs a gaze stage"):
        build_pipeline(gaze=False, profile="alice", profiles_dir=tmp_path)
    with pytest.raises(ProfileError):
        build_pipeline(gaze=load_gaze("geometric"), profile="nobody", profiles_dir=tmp_path)
    assert isinstance(load_gaze("geometric"), GazeSetup)
