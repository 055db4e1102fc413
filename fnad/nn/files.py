"""Models as JSON files: ``model.save(path)`` and ``MLP.load(path)``, no pickle.

The format is one JSON object, written with :func:`dumps` and read with :func:`loads`::

    {"format": "fnad.nn.MLP", "version": 1,
     "layers": [[{"activation": "relu", "w": [0.1, ...], "b": 0.0}, ...], ...]}

one list per layer, one object per neuron. Numbers are written with Python's shortest
round-trip ``repr``, so a loaded model equals the saved one bit for bit (``-0.0`` included);
the non-finite values JSON has no numbers for are the strings ``"nan"``, ``"inf"`` and
``"-inf"``, as in fnad's graph files (a nan's payload bits are not kept).

A file to load is untrusted input: :func:`loads` reads no more than ``max_bytes``, refuses
nesting deeper than the format's before the JSON decoder runs, checks every field's type
and every layer's width, and answers any problem with a :class:`~fnad.errors.ModelFileError`
that names the place (``layers[1][3].w[0]``) and what was expected. Loading runs no code.

>>> from fnad.nn import MLP
>>> model = MLP(2, [3, 1], activation="tanh", seed=0)
>>> loads(dumps(model)) == model
True
>>> loads('{"format": "fnad.nn.MLP", "version": 1, "layers": [[{"activation": "relu", "w": [1], "b": "x"}]]}')
Traceback (most recent call last):
...
fnad.errors.ModelFileError: layers[0][0].b is 'x' (str), not a number; write numbers, or "nan", "inf", "-inf"
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from fnad.errors import ModelFileError, OperandTypeError
from fnad.graph.schema import decode_float, encode_float
from fnad.nn.model import ACTIVATIONS, MLP, Layer, Neuron

__all__ = [
    "FORMAT",
    "MAX_MODEL_BYTES",
    "MAX_PARAMETERS",
    "VERSION",
    "dumps",
    "load",
    "loads",
    "save",
]

FORMAT = "fnad.nn.MLP"
"""The ``"format"`` field of a saved model."""
VERSION = 1
"""The version of the format this fnad writes and reads."""
MAX_MODEL_BYTES = 64 * 2**20
"""Default limit on a model file's size: 64 MiB, about three million parameters."""
MAX_PARAMETERS = 4_000_000
"""Default limit on a loaded model's number of parameters."""

_DEPTH = 5  # {"layers": [ [ {"w": [ ... ]} ] ] }
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def dumps(model: MLP[float]) -> str:
    """``model`` as the JSON text of a saved model (one line per neuron)."""
    if not isinstance(model, MLP):
        raise OperandTypeError(f"save: expected an fnad.nn.MLP, got {type(model).__name__}")
    layers = []
    for layer in model.layers:
        neurons = []
        for neuron in layer.neurons:
            if not all(type(p) is float or isinstance(p, float) for p in neuron.parameters()):
                raise OperandTypeError(
                    f"save: {model!r} holds Nodes (a traced network); save the float model, "
                    "or net.detach()"
                )
            entry = {
                "activation": neuron.activation,
                "w": [encode_float(float(w)) for w in neuron.w],
                "b": encode_float(float(neuron.b)),
            }
            neurons.append("   " + json.dumps(entry, allow_nan=False))
        layers.append("  [\n" + ",\n".join(neurons) + "\n  ]")
    return (
        f'{{"format": "{FORMAT}", "version": {VERSION}, "shape": {list(model.shape)},\n'
        ' "layers": [\n' + ",\n".join(layers) + "\n ]}\n"
    )


def save(model: MLP[float], path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` as JSON (:func:`dumps`)."""
    text = dumps(model)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def load(path: str | os.PathLike[str], *, max_bytes: int = MAX_MODEL_BYTES) -> MLP[float]:
    """Read a model saved by :func:`save`; a :class:`ModelFileError` for anything else."""
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise ModelFileError(f"cannot read the model file {os.fspath(path)!r}: {error}") from None
    return loads(data, max_bytes=max_bytes)


def loads(
    text: str | bytes, *, max_bytes: int = MAX_MODEL_BYTES, max_parameters: int = MAX_PARAMETERS
) -> MLP[float]:
    """The model in ``text`` (the JSON of :func:`dumps`), checked field by field."""
    if isinstance(text, bytes):
        if len(text) > max_bytes:
            raise _too_large(len(text), max_bytes)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ModelFileError(
                f"the model file is not UTF-8 text (byte {error.start}); a saved model is JSON"
            ) from None
    elif not isinstance(text, str):
        raise OperandTypeError(f"loads: expected the JSON text, got {type(text).__name__}")
    elif len(text) > max_bytes:
        raise _too_large(len(text), max_bytes)
    _check_depth(text)
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"the model file is not valid JSON: {error.msg} at line {error.lineno} column "
            f"{error.colno}; a saved model is the JSON that model.save(path) writes"
        ) from None
    if not isinstance(document, dict):
        raise ModelFileError(
            f"a saved model is a JSON object, got {_kind(document)}; save one with model.save(path)"
        )
    if document.get("format") != FORMAT:
        raise ModelFileError(
            f'this is not a saved fnad model: its "format" is {_shown(document.get("format"))}, '
            f"not {FORMAT!r}; a graph exported with fnad.to_json loads with fnad.from_json"
        )
    if document.get("version") != VERSION:
        raise ModelFileError(
            f"the model file's version is {_shown(document.get('version'))}; this fnad reads "
            f"version {VERSION}"
        )
    layers = document.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ModelFileError(f"layers is {_kind(layers)}; expected a non-empty list of layers")
    count = 0
    built: list[Layer[float]] = []
    width: int | None = None
    for i, layer in enumerate(layers):
        if not isinstance(layer, list) or not layer:
            raise ModelFileError(
                f"layers[{i}] is {_kind(layer)}; expected a non-empty list of neurons"
            )
        neurons: list[Neuron[float]] = []
        for j, entry in enumerate(layer):
            where = f"layers[{i}][{j}]"
            neuron = _neuron(where, entry, width)
            width = neuron.nin if width is None else width
            count += neuron.nin + 1
            if count > max_parameters:
                raise ModelFileError(
                    f"the model has more than {max_parameters:,} parameters (the limit); pass "
                    "a larger max_parameters if you trust the file"
                )
            neurons.append(neuron)
        built.append(Layer.of(neurons))
        width = len(neurons)
    model = MLP.of(built)
    shape = document.get("shape")
    if shape is not None and shape != list(model.shape):
        raise ModelFileError(
            f"the file says shape {_shown(shape)} but its layers are {list(model.shape)}"
        )
    return model


def _neuron(where: str, entry: Any, width: int | None) -> Neuron[float]:
    if not isinstance(entry, dict):
        raise ModelFileError(f"{where} is {_kind(entry)}; expected a neuron: an object with w, b")
    unknown = sorted(set(entry) - {"activation", "w", "b"})
    if unknown:
        raise ModelFileError(
            f"{where} has unknown field {_shown(unknown[0])}; a neuron has activation, w and b"
        )
    activation = entry.get("activation")
    if activation not in ACTIVATIONS:
        raise ModelFileError(
            f"{where}.activation is {_shown(activation)}; expected one of "
            f"{', '.join(map(repr, ACTIVATIONS))}"
        )
    weights = entry.get("w")
    if not isinstance(weights, list) or not weights:
        raise ModelFileError(f"{where}.w is {_kind(weights)}; expected a non-empty list of numbers")
    if width is not None and len(weights) != width:
        raise ModelFileError(
            f"{where}.w has {len(weights)} weights, but the layer reads {width} inputs; "
            "one weight per input"
        )
    w = tuple(_number(f"{where}.w[{k}]", x) for k, x in enumerate(weights))
    if "b" not in entry:
        raise ModelFileError(f"{where} has no b (bias)")
    b = _number(f"{where}.b", entry["b"])
    return Neuron.of(w, b, activation != "linear", activation=_nonlinear(activation))


def _nonlinear(activation: str) -> str:
    return "relu" if activation == "linear" else activation


def _number(where: str, value: Any) -> float:
    number = decode_float(value)
    if number is None:
        raise ModelFileError(
            f"{where} is {_shown(value)} ({type(value).__name__}), not a number; write numbers, "
            'or "nan", "inf", "-inf"'
        )
    return number


def _check_depth(text: str) -> None:
    depth = 0
    for match in _BRACKETS.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > _DEPTH:
                raise ModelFileError(
                    f"the model file nests deeper than a saved model ({_DEPTH} levels) at "
                    f"character {match.start()}; it is not a file model.save wrote"
                )
        elif char in "]}":
            depth -= 1


def _refuse_constant(name: str) -> Any:
    raise ModelFileError(
        f"the model file has the bare JSON constant {name}; write non-finite numbers as the "
        'strings "nan", "inf", "-inf"'
    )


def _too_large(size: int, limit: int) -> ModelFileError:
    return ModelFileError(
        f"the model file is larger than {limit:,} bytes (the limit); pass a larger max_bytes "
        "if you trust it"
    )


def _kind(value: Any) -> str:
    return f"{_shown(value)} ({type(value).__name__})"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
