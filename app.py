#!/usr/bin/env python
"""Launch the gazezoom desktop app (same as ``gazezoom demo``). ``python app.py --help`` lists the options."""

import sys

from gazezoom.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["demo", *sys.argv[1:]]))
