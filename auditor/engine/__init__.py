"""Judging resources against rules: findings, selection, evaluation, waivers, drift. No AWS calls, no I/O."""
