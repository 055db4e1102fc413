"""Tests of fnad.engine."""
