"""Figures. Functions here draw from numbers already computed; they never train or attribute."""
