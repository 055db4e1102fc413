"""Shared test settings: a Hypothesis profile sized for CI on two cores."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fnad",
    deadline=None,
    max_examples=int(os.environ.get("FNAD_HYPOTHESIS_EXAMPLES", "60")),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("fnad")
