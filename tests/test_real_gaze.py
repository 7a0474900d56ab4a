"""The shipped default gaze on real eyes: a regression guard on issue 13's aims, run on the shared media against
the real-trained reference (evaluation only; docs/zoom.md, "Gaze that reads real eyes").

A model change that breaks two-eye agreement, the look-into-the-camera portraits or mirror symmetry on real faces
fails here, whatever it does on renders.
"""

from __future__ import annotations

import pytest

from gazezoom.fileio import REPO_ROOT, WEIGHTS_DIR
from gazezoom.realeval import PORTRAITS, build_stages, evaluate_real

MEDIA = REPO_ROOT.parent / "shared" / "media"
REFERENCE = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    if not (REFERENCE / "single_face.mp4.csv").is_file():
        pytest.skip(f"reference CSVs not found at {REFERENCE}")
    d = tmp_path_factory.mktemp("real")
    media, ref = d / "media", d / "ref"
    media.mkdir()
    ref.mkdir()
    for n in ("single_face.mp4", *PORTRAITS):  # symlinks, never copies of the shared files
        (media / n).symlink_to(MEDIA / n)
        (ref / f"{n}.csv").symlink_to(REFERENCE / f"{n}.csv")
    stages = build_stages(WEIGHTS_DIR, variants=[], baselines=("fusion", "geometric"))
    return evaluate_real(media, ref, stages)


@pytest.mark.slow
def test_shipped_default_meets_the_real_eye_aims(scored):
    aims = scored["stages"]["fusion"]["aims"]
    for key in ("eye_pitch_median", "eye_pitch_p90", "portraits_to_camera", "mirror_yaw"):
        assert aims[key]["pass"] is True, (key, aims[key])


@pytest.mark.slow
def test_shipped_default_is_steady_and_near_the_geometric_floor(scored):
    fusion, geo = (scored["stages"][s]["pooled"] for s in ("fusion", "geometric"))
    # per-clip offset removed, the default follows the reference as closely as the landmark floor does (1.3 deg)
    assert fusion["angle_to_ref_offset_removed_deg"] <= geo["angle_to_ref_offset_removed_deg"] + 0.5
    assert fusion["jitter_pitch_deg"] < 0.6 and fusion["jitter_yaw_deg"] < 0.6


def test_shipped_default_on_a_held_out_portrait():
    """A real face that is not in the evaluation media and that nothing was tuned on: matplotlib's public-domain
    sample portrait of Grace Hopper (US Navy photo, installed with matplotlib; she looks into the camera, through
    glasses). The default reads her gaze within 10 deg of the camera and mirrors it (issue 13's portrait and mirror
    aims). Measured: fusion 2.7 deg to the camera, |yaw + yaw_mirrored| 0.2 deg; geometric 3.1 / 3.0 deg; the direct
    networks 16-26 deg to the camera (they read her gaze high)."""
    import numpy as np
    from matplotlib import cbook

    from gazezoom.face.frontend import FrontEnd
    from gazezoom.io.readers import read_image
    from gazezoom.models.stages import build_gaze_stage
    from gazezoom.realeval import TO_CAMERA_DEG, angle_to_camera_deg, mirror_consistency_deg

    frame = read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    flipped = np.ascontiguousarray(frame[:, ::-1])
    with FrontEnd(mode="image") as fe:
        face, _, _ = fe.process(frame)
        face_m, _, _ = fe.process(flipped)
    assert face is not None and face_m is not None and not face.blink
    stage = build_gaze_stage("fusion", weights=WEIGHTS_DIR)
    g, gm = stage.predict(frame, face, display=False), stage.predict(flipped, face_m, display=False)
    assert angle_to_camera_deg(g.vector_cam, g.origin_mm) <= TO_CAMERA_DEG
    yaw_sum, _ = mirror_consistency_deg(np.degrees(g.pitchyaw), np.degrees(gm.pitchyaw))
    assert yaw_sum <= 3.0
