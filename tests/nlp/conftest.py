import os
import textwrap
from pathlib import Path

import pytest

FIXTURE_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello
    - hey there
    - good morning
    - hello, anyone there?
    - hiya
- intent: order_status
  examples: |
    - where is my order [A10023](order_id)?
    - has order [A10451](order_id) shipped yet
    - when will my package arrive
    - track my order
    - what's the status of my order
    - is my parcel on the way
- intent: return_item
  examples: |
    - I want to return my [sneakers](product_category:shoes)
    - how do I send back the [jacket]{"entity": "product_category", "value": "clothing"}
    - can I return an item
    - I'd like to return this
    - the [blender](product_category:kitchen) doesn't work, I want to return it
    - return policy for [books](product_category)
- synonym: electronics
  examples: |
    - gadgets
    - tech
- regex: order_id
  examples: |
    - \\b[Aa]\\d{5}\\b
- lookup: product_category
  examples: |
    - electronics
    - shoes
    - kitchen
    - books
"""

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def nlu_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "nlu.yml"
    path.write_text(FIXTURE_NLU, encoding="utf-8")
    return path


@pytest.fixture
def write_yaml(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "bad.yml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The repo's trained models (CAREBOT_MODELS_DIR, default models/ of this checkout, which
    `make test` builds first; a fixed path would test another checkout's models)."""
    return Path(os.environ.get("CAREBOT_MODELS_DIR", str(REPO / "models")))


@pytest.fixture(scope="session")
def spacy_nlp():
    from nlp.spacy_model import load_spacy

    return load_spacy()


def find_shared_data() -> Path:
    """../shared/data beside the checkout or any folder above it (a clean clone may sit
    deeper), then /work/shared/data: the public evaluation sets (never shipped)."""
    for folder in REPO.parents:
        candidate = folder / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = find_shared_data()
    if not path.is_dir():
        pytest.fail(f"{path} not found: the evaluation data sets live in shared/data")
    return path


@pytest.fixture(scope="session")
def held_out_nonsense() -> list[str]:
    """Nonsense written by hand (tests/nlp/data/held_out_nonsense.txt), never a training row."""
    lines = (Path(__file__).with_name("data") / "held_out_nonsense.txt").read_text(
        encoding="utf-8"
    ).splitlines()
    return [line for line in lines if line and not line.startswith("#")]
