"""Tests of fnad.viz."""
