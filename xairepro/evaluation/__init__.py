"""Metrics on predictions and attributions. Functions here return numbers; they never draw."""
