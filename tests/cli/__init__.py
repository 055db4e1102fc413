"""Tests of fnad.cli."""
