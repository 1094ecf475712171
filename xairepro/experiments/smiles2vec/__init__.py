"""smiles2vec experiment: targets declared (xairepro/experiments/smiles2vec/targets.py); studies built in later work."""
