"""iris experiment: targets declared (xairepro/experiments/iris/targets.py); studies built in later work."""
