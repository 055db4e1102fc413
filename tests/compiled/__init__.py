"""Tests of fnad.compiled."""
