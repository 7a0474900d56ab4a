"""gazezoom: webcam gaze tracking built around the saliency-based sampler of *Learning to Zoom*.

Importing the package is cheap and headless: no Qt, no MediaPipe, no torch at import time.
Heavy modules are imported by the stage that needs them (``gazezoom.sampler``, ``gazezoom.face`` …).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
