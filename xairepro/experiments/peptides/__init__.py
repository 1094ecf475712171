"""peptides experiment: targets declared (xairepro/experiments/peptides/targets.py); studies built in later work."""
