"""Customer lifetime value: BTYD baselines (btyd.py)."""
