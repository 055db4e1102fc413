"""Transforms over the engine: grad, value_and_grad, jvp, vjp, hessian; custom ops; the rule checker."""

from fnad.transforms.check import (
    AUTO_AXES,
    DIRECTIONS,
    MODES,
    Mismatch,
    OpCheck,
    RuleCheckReport,
    check_grad,
    check_rules,
    estimate_derivative,
)
from fnad.transforms.custom import (
    CustomBinaryOp,
    CustomNaryOp,
    CustomUnaryOp,
    defop,
)
from fnad.transforms.functional import (
    ScalarFunction,
    Transformed,
    grad,
    hessian,
    jvp,
    value_and_grad,
    vjp,
)

__all__ = [
    "AUTO_AXES",
    "DIRECTIONS",
    "MODES",
    "CustomBinaryOp",
    "CustomNaryOp",
    "CustomUnaryOp",
    "Mismatch",
    "OpCheck",
    "RuleCheckReport",
    "ScalarFunction",
    "Transformed",
    "check_grad",
    "check_rules",
    "defop",
    "estimate_derivative",
    "grad",
    "hessian",
    "jvp",
    "value_and_grad",
    "vjp",
]
