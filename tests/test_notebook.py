"""examples/micrograd_in_fnad.ipynb runs in a real Jupyter kernel and shows what it says.

The notebook is executed with nbclient in the ``python3`` kernel that ipykernel (a dev
dependency) provides for this very interpreter, so no ``jupyter kernelspec install`` is
needed. Its outputs are checked by mime type and content: the seed example's graph as SVG,
the gradient table, the explanation, micrograd's numbers, the habit errors, the progress
bar, the training figures and the decision boundary as a PNG.

Running it takes a kernel start and a training run (~15 s), so those tests are ``slow``
(``pytest -m slow``, and CI); the saved notebook's shape is checked in the default run.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.export_strategies import need_dot, need_graphviz_package

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "micrograd_in_fnad.ipynb"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """The notebook's outputs, by cell tag, after running it in a scratch directory."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    need_dot()
    need_graphviz_package()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    folder = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    assert (folder / "seed.png").read_bytes().startswith(b"\x89PNG")
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for cell in notebook.cells:
        for tag in cell.metadata.get("tags", []):
            by_tag[tag] = cell.get("outputs", [])
    return by_tag


def test_the_notebook_is_saved_valid_without_outputs_one_tag_per_code_cell() -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.get("outputs") for cell in code)
    tags = [cell.metadata.get("tags", []) for cell in code]
    assert all(len(cell_tags) == 1 for cell_tags in tags), tags
    assert len({cell_tags[0] for cell_tags in tags}) == len(code), tags  # outputs are keyed by tag


def data(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """The display data of a cell (its result and its display() calls), merged."""
    merged: dict[str, Any] = {}
    for output in outputs:
        if output["output_type"] in ("execute_result", "display_data"):
            merged.update(output["data"])
    return merged


def stdout(outputs: list[dict[str, Any]]) -> str:
    return "".join(
        o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout"
    )


@pytest.mark.slow
def test_every_code_cell_is_tagged_and_ran_without_error(
    outputs: dict[str, list[dict[str, Any]]],
) -> None:
    assert set(outputs) == {
        "seed",
        "seed-values",
        "gradients",
        "explain",
        "render",
        "readme",
        "habits",
        "model",
        "training",
        "plot",
    }
    for tag, cell_outputs in outputs.items():
        assert all(o["output_type"] != "error" for o in cell_outputs), tag


@pytest.mark.slow
def test_the_seed_example_shows_its_graph_as_svg(outputs: dict[str, list[dict[str, Any]]]) -> None:
    shown = data(outputs["seed"])
    svg = shown["image/svg+xml"]
    assert svg.startswith(("<?xml", "<svg")) and "<svg" in svg
    assert svg.count('class="node"') == 8 and "grad 7" in svg and "local ∂ 4" in svg
    assert shown["text/plain"] == "Node(data=13.0, grad=1.0, op='add')"
    assert stdout(outputs["seed-values"]) == "z = 13.0, dz/dx = 7.0, dz/dy = 3.0\n"


@pytest.mark.slow
def test_gradients_and_explain_show_summaries(outputs: dict[str, list[dict[str, Any]]]) -> None:
    table = data(outputs["gradients"])["text/html"]
    assert "<td>x</td><td>2</td><td>7</td>" in table and "<td>y</td><td>3</td><td>3</td>" in table
    text = data(outputs["explain"])["text/plain"]
    assert text.startswith("∂z/∂x = 7, the sum over 2 paths") and "x ─[4]→ pow" in text
    assert stdout(outputs["render"]).endswith("seed.png b'\\x89PNG'\n")


@pytest.mark.slow
def test_micrograds_readme_numbers(outputs: dict[str, list[dict[str, Any]]]) -> None:
    assert stdout(outputs["readme"]) == "24.7041\n138.8338\n645.5773\n"


@pytest.mark.slow
def test_the_habits_get_fnad_errors(outputs: dict[str, list[dict[str, Any]]]) -> None:
    text = stdout(outputs["habits"])
    assert "ImmutableError: Node(data=2.0, grad=7.0, label='x'): Node.data is read-only" in text
    assert "MissingAttributeError" in text and "OperandTypeError" in text
    assert "fnad.exp(x)" in text and "x < y: True   max(x, y) is y: True" in text


@pytest.mark.slow
def test_the_training_run(outputs: dict[str, list[dict[str, Any]]]) -> None:
    assert "337 parameters" in data(outputs["model"])["text/html"]
    bar = data(outputs["training"])
    assert "training" in bar["text/plain"]  # tqdm.auto: a widget, or text without ipywidgets
    assert stdout(outputs["training"]) == (
        "step  0 loss 0.9129, accuracy 50%\n"
        "step  4 loss 0.2669, accuracy 86%\n"
        "step  9 loss 0.2063, accuracy 91%\n"
    )


@pytest.mark.slow
def test_the_decision_boundary_is_a_png(outputs: dict[str, list[dict[str, Any]]]) -> None:
    picture = base64.b64decode(data(outputs["plot"])["image/png"])
    assert picture.startswith(b"\x89PNG\r\n\x1a\n") and len(picture) > 10_000
