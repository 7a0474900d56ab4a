"""``gazezoom profile list|show|delete``: the saved calibration profiles.

Profiles folder: ``--profiles DIR``, else ``$GAZEZOOM_PROFILES``, else ``calibration/`` in the repository.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InputValueError, ProfileError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profiles", metavar="DIR", help="profiles folder")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="one line per profile: user, regressor, validation error, gaze model, updated "
                                "(malformed files are listed with their error)")
    p = sub.add_parser("show", help="a profile's details")
    p.add_argument("user")
    p.add_argument("--json", action="store_true", help="print the validated profile as JSON")
    p = sub.add_parser("delete", help="delete a profile")
    p.add_argument("user")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def run(args: argparse.Namespace) -> int:
    from ..calibration.profile import (
        check_user,
        delete_profile,
        list_profiles,
        load_profile,
        profile_path,
        profiles_dir,
    )

    if args.action == "list":
        infos = list_profiles(args.profiles)
        if not infos:
            print(f"no profiles in {profiles_dir(args.profiles)}")
            return 0
        for info in infos:
            if info.profile is None:
                print(f"{info.user:16s}  INVALID  {info.error}")
                continue
            p = info.profile
            err = p.validation.get("error_deg") if p.validation else None
            acc = f"{err:.2f}°" if isinstance(err, (int, float)) else "n/a"
            print(f"{p.user:16s}  {p.model.name:9s}  validation {acc:>6s}  {p.gaze_model}  updated {p.updated}")
        return 0
    if args.action == "show":
        p = load_profile(check_user(args.user), args.profiles)
        if args.json:
            print(json.dumps(p.to_dict(), indent=2))
            return 0
        s = p.screen
        print(f"user:       {p.user}  ({profile_path(p.user, args.profiles)})")
        print(f"created:    {p.created}   updated: {p.updated}")
        print(f"gaze model: {p.gaze_model}")
        print(f"screen:     {s.width_px}x{s.height_px} px, {s.width_mm}x{s.height_mm} mm, camera at "
              f"{s.camera_offset_mm} mm from the top centre")
        print(f"regressor:  {p.model.name}   drift offset: ({p.offset_px[0]:.1f}, {p.offset_px[1]:.1f}) px")
        v = p.validation
        if v:
            print(f"validation: {v.get('error_px')} px = {v.get('error_cm')} cm = {v.get('error_deg')}° over "
                  f"{len(v.get('targets', []))} targets, head at {v.get('distance_mm')} mm")
        else:
            print("validation: none")
        return 0
    if args.action == "delete":
        path = profile_path(args.user, args.profiles)
        if not path.is_file():
            raise ProfileError(f"no profile for user {args.user!r} in {path.parent}; `gazezoom profile list` shows "
                               "the saved ones")
        if not args.yes:
            if not sys.stdin.isatty():
                raise InputValueError(f"refusing to delete {path} without confirmation; add --yes")
            if input(f"delete {path}? [y/N] ").strip().lower() not in ("y", "yes"):
                print("kept")
                return 1
        print(f"deleted {delete_profile(args.user, args.profiles)}")
        return 0
    raise InputValueError(f"unknown action {args.action!r}")  # argparse prevents this
