"""Tests of fnad.graph."""
