"""Per-user calibration: features → screen points, the procedure, accuracy reports, profiles, drift correction.

Only numpy is imported here; matplotlib (report pictures) and cv2 (replay) load inside the functions that need them.
"""
