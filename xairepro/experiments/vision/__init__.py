"""vision experiment: targets declared (xairepro/experiments/vision/targets.py); studies built in later work."""
