"""Experiment recipes: compose data, models, training, attribution and evaluation for one paper
experiment. Snakemake scripts call these; they hold the logic worth testing."""
