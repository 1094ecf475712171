"""text experiment: targets declared (xairepro/experiments/text/targets.py); studies built in later work."""
