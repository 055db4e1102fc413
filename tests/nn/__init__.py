"""Tests of fnad.nn."""
