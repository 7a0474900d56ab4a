"""``gazezoom stream``: headless live gaze from a camera or video to Lab Streaming Layer and/or WebSocket clients.

The frame loop is the app's without a window: a source of :mod:`gazezoom.live.sources` (a video is played at its own
frame rate unless ``--fast``), :meth:`gazezoom.pipeline.Pipeline.process` on each frame, the row of
:func:`gazezoom.io.table.result_to_row`, and the outlets of :mod:`gazezoom.io.streams`. At the end it prints the
frames streamed and the delay from capture to hand-over to the outlets (median and 95th percentile).
See ``docs/streaming.md`` for the PsychoPy / LabRecorder / browser side.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from ..cliargs import add_model_args, add_threads_arg

EPILOG = """examples:
  gazezoom stream --lsl                                   # camera 0 to an LSL stream named "gazezoom"
  gazezoom stream --source 1 --size 1280x720 --lsl --name subject01 --profile alice
  gazezoom stream --websocket 8765                        # ws://127.0.0.1:8765, one JSON object per frame
  gazezoom stream --source clip.mp4 --lsl --websocket 0 --frames 300 --wait 10"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    src = parser.add_argument_group("source (as the app)")
    src.add_argument("--source", default="0", help="camera index (0, 1 …) or a video file (default 0)")
    src.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True,
                     help="restart a video at its end (default on)")
    src.add_argument("--size", metavar="WxH", help="resolution to request from a camera, e.g. 1280x720")
    src.add_argument("--fps", type=float, default=0.0, help="frame rate to request from a camera")
    src.add_argument("--resize", metavar="WxH", help="resize every frame after reading")
    src.add_argument("--fast", action="store_true", help="read a video as fast as it is processed, not in real time")
    mod = parser.add_argument_group("models and calibration (as the app)")
    add_model_args(mod, gaze_default="network", gaze_help="gaze stage: network (default) or geometric",
                   backend_help="gaze inference backend (default auto)")
    mod.add_argument("--no-gaze", action="store_true", help="front-end only (head pose, blinks); gaze fields NaN/null")
    mod.add_argument("--landmarker", default="mediapipe", help="face landmarker backend")
    mod.add_argument("--camera-file", help="camera intrinsics (JSON / OpenCV YAML); default from the frame size")
    mod.add_argument("--profile", metavar="USER", help="calibration profile: fills screen_x_px / screen_y_px")
    mod.add_argument("--profiles", metavar="DIR", help="profiles folder (default $GAZEZOOM_PROFILES, else calibration/)")
    out = parser.add_argument_group("outlets (at least one)")
    out.add_argument("--lsl", action="store_true", help="publish a Lab Streaming Layer stream of type Gaze")
    out.add_argument("--name", default="gazezoom", help="LSL stream name (default gazezoom)")
    out.add_argument("--websocket", metavar="[HOST:]PORT", help="serve JSON frames on ws://HOST:PORT (host default "
                     "127.0.0.1: nothing listens beyond this machine unless you give 0.0.0.0; port 0 = any free port)")
    out.add_argument("--queue", type=int, default=32, metavar="N", help="WebSocket messages kept per slow client "
                     "before its newest ones are dropped (default 32, about a second)")
    run_ = parser.add_argument_group("run")
    run_.add_argument("--frames", type=int, default=0, metavar="N", help="stop after N frames (default: until the "
                      "source ends or Ctrl-C)")
    run_.add_argument("--wait", type=float, default=0.0, metavar="S", help="wait up to S seconds for a first "
                      "consumer (LSL inlet or WebSocket client) before processing (default 0: start at once)")
    add_threads_arg(run_, default=1)
    run_.add_argument("--quiet", action="store_true", help="no start/end messages on stderr")


def _build(args, log):
    """The checked outlets' settings, the source spec, and the pipeline (gaze stage, profile)."""
    from ..build import build_pipeline, load_gaze
    from ..cliargs import parse_size
    from ..errors import InputValueError, ModelFileError
    from ..live.sources import parse_source

    if not args.lsl and args.websocket is None:
        raise InputValueError("give at least one outlet: --lsl and/or --websocket [HOST:]PORT")
    if args.frames < 0 or args.wait < 0 or args.queue < 1:
        raise InputValueError("--frames and --wait must be >= 0 and --queue >= 1")
    w, h = parse_size(args.size) if args.size else (0, 0)
    spec = parse_source(args.source, loop=args.loop, width=w, height=h, fps=args.fps,
                        resize=parse_size(args.resize) if args.resize else None, pace=not args.fast)
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    gaze = False
    if not args.no_gaze:  # a missing model is an error here: streaming NaN gaze into an experiment unnoticed is worse
        try:
            gaze = load_gaze(args.gaze, weights=args.weights, variant=args.variant, backend=args.backend)
        except ModelFileError as err:
            raise ModelFileError(f"{err}; pass --no-gaze to stream the front-end alone") from None
        log(gaze.note)
    pipeline = build_pipeline(gaze=gaze, display=False, profile=args.profile, profiles_dir=args.profiles,
                              landmarker=args.landmarker, camera=args.camera_file, mode="video")
    return spec, pipeline


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..io.streams import LiveOutlets, parse_address
    from ..io.table import result_to_row
    from ..live.sources import open_source

    def log(msg: str) -> None:
        if not args.quiet:
            print(f"gazezoom stream: {msg}", file=sys.stderr, flush=True)

    address = parse_address(args.websocket) if args.websocket is not None else None
    spec, pipeline = _build(args, log)
    outlets = source = None
    delays: list[float] = []
    n = 0
    try:
        source = open_source(spec)
        outlets = LiveOutlets(args.name if args.lsl else None, address, rate=source.fps, queue_size=args.queue)
        if outlets.lsl is not None:
            log(f"LSL stream {args.name!r} (type Gaze) at {source.fps:.0f} Hz")
        if outlets.websocket is not None:
            # one line on stdout that scripts (and the tests) read to find an ephemeral port
            print(f"websocket: listening on {outlets.websocket.url}", flush=True)
        if args.wait > 0:
            log(f"waiting up to {args.wait:g} s for a consumer …")
            outlets.wait(args.wait)
        log(f"streaming {spec.label}" + (f" for {args.frames} frames" if args.frames else " (Ctrl-C stops)"))
        pace0 = None  # (wall clock, frame time) of the first paced frame
        while not args.frames or n < args.frames:
            frame = source.read()
            if frame is None:
                log(f"{spec.label} ended")
                break
            if spec.kind == "video" and spec.pace:  # play at the video's own rate, as a camera would deliver it
                now = time.perf_counter()
                if pace0 is None or frame.restart:
                    pace0 = (now, frame.time_s)
                due = pace0[0] + frame.time_s - pace0[1]
                if due > now:
                    time.sleep(due - now)
                frame = dataclasses.replace(frame, captured=time.perf_counter())
            result = pipeline.process(frame.image, frame.time_s)
            outlets.push_row(result_to_row(result), frame.captured)
            delays.append((time.perf_counter() - frame.captured) * 1e3)
            n += 1
    finally:
        for closer in (outlets, source, pipeline):
            if closer is not None:
                closer.close()
    d = np.array(delays) if delays else np.zeros(1)
    print(f"streamed {n} frames; capture -> handed to the outlets: median {np.median(d):.1f} ms, "
          f"p95 {np.percentile(d, 95):.1f} ms", flush=True)
    for line in outlets.summary() if outlets is not None else []:
        print(line, flush=True)
    return 0
