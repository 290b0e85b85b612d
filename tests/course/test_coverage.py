"""Every LPIC-3 361.1 term in the shared objectives file is explained in a notebook and asked in a quiz.

Notebook cells that explain terms carry metadata {"halab": {"objectives": [...]}}; quiz questions list
them in `terms` (from course/quizzes/objectives.toml). The objectives file is required: without it this test
fails, it does not skip.
"""

import functools
import re
from pathlib import Path

import nbformat
import pytest

from halab.course.objectives import load_vocabulary
from halab.course.quiz import bank_names, load_bank
from tests.course.helpers import NOTEBOOKS, shared_dir

MIN_WORDS = 60  # an explanation, not a passing mention


def objectives() -> list[str]:
    path = shared_dir() / "objectives-361-1.txt"
    if not path.is_file():
        pytest.fail(f"{path} is missing: set HALAB_SHARED_DIR or put the shared folder beside the repository")
    terms = [line.strip() for line in path.read_text().splitlines()]
    terms = [t for t in terms if t and not t.startswith("#")]
    assert terms, f"{path} lists no terms"
    return terms


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("-", " ").replace("*", ""))


def words(term: str) -> list[str]:
    return [w for w in re.split(r"[\s()]+", normalise(term)) if w]


@functools.cache
def tagged_cells() -> list[tuple[Path, str, list[str]]]:
    cells = []
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            tagged = cell.metadata.get("halab", {}).get("objectives", [])
            if tagged:
                cells.append((path, cell.source, tagged))
    return cells


def test_every_objective_is_explained_in_a_notebook() -> None:
    cells = tagged_cells()
    missing = []
    for term in objectives():
        explained = [
            (path, source)
            for path, source, tagged in cells
            if term in tagged and all(w in normalise(source) for w in words(term)) and len(source.split()) >= MIN_WORDS
        ]
        if not explained:
            missing.append(term)
    assert not missing, f"not explained in any notebook cell tagged with the term and naming it: {missing}"


def test_every_objective_is_asked_in_a_quiz() -> None:
    asked = {o for name in bank_names() for q in load_bank(name).questions for o in q.objectives}
    missing = [term for term in objectives() if term not in asked]
    assert not missing, f"no quiz question asks about: {missing}"


def test_objective_tags_are_spelled_as_in_the_objectives_file() -> None:
    known = set(objectives())
    unknown = {t for _, _, tagged in tagged_cells() for t in tagged} - known
    assert not unknown, f"objective tags that are not in the objectives file: {sorted(unknown)}"
    # Questions name terms of the course's vocabulary (361.1 and the neighbouring objectives); its 361.1 terms
    # are exactly those of the objectives file.
    vocabulary = load_vocabulary()
    assert list(vocabulary.objective("361.1").terms) == objectives()
    unknown = {t for name in bank_names() for q in load_bank(name).questions for t in q.terms} - set(vocabulary.terms)
    assert not unknown, f"question terms that are not in objectives.toml: {sorted(unknown)}"
