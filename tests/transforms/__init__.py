"""Tests of fnad.transforms."""
