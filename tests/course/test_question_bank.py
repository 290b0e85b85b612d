"""The question bank as a whole: validation messages, quotas per term, answer keys, the graded/practice split,
the notebook sections questions point to, and where each 361.1 term is demonstrated live."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections import Counter
from pathlib import Path

import nbformat
import pytest

import halab.course.widgets as widgets
from halab.course.objectives import QuizError, load_vocabulary
from halab.course.quiz import (
    Question,
    bank_names,
    check_catalogue,
    grade,
    graded_bank_names,
    load_bank,
    load_graded_bank,
    practice_questions,
)
from halab.spec import load_spec
from tests.course.helpers import COURSE_DIR, NOTEBOOKS, REPO_ROOT

# The utilities the course teaches: each needs as many questions as a 361.1 term.
UTILITIES = ["pcs", "crm", "crm_mon", "crm_verify", "crm_resource", "crm_attribute", "cibadmin", "stonith_admin",
             "corosync-cfgtool", "corosync-quorumtool", "corosync-cmapctl", "corosync-keygen", "drbdadm",
             "drbdsetup", "/proc/drbd", "virsh", "virt-install", "haproxy", "keepalived"]  # fmt: skip
QUOTA, OTHER_QUOTA = 6, 3
# Labs and tasks that other work adds alongside this bank (see the README's list of terms).
NEW_LABS = {"infrastructure", "loadbalancing", "virtualization"}
PENDING_TASKS: set[tuple[str, str]] = set()
GRADED_CALL = re.compile(r"""(?:correct|readable)\(\s*["']([^"']+)["']\s*,\s*["']([^"']+)["']""")
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def headings(notebook: str) -> set[str]:
    path = COURSE_DIR / "source" / notebook / f"{notebook}.ipynb"
    cells = nbformat.read(path, as_version=4).cells
    return {line.lstrip("#").strip() for c in cells if c.cell_type == "markdown" for line in c.source.splitlines()
            if line.startswith("#")}


def all_questions() -> list[Question]:
    practice, graded = check_catalogue()
    return [q for bank in (*practice, *graded) for q in bank.questions]


def test_the_bank_is_big_enough_and_uses_every_form() -> None:
    pool = practice_questions()
    kinds = Counter(q.kind for q in pool)
    assert len(pool) >= 200, f"only {len(pool)} practice questions"
    assert kinds["single"] >= 100 and kinds["choose"] >= 25 and kinds["fill"] >= 25 and kinds["numeric"] >= 10
    assert not any(q.graded for q in pool)


def test_every_term_and_utility_has_its_quota() -> None:
    vocabulary = load_vocabulary()
    counts = Counter(t for q in practice_questions() for t in q.terms)
    assert set(UTILITIES) <= set(vocabulary.terms)
    short = {}
    for term in vocabulary.terms:
        wanted = QUOTA if term in vocabulary.objective("361.1").terms or term in UTILITIES else OTHER_QUOTA
        if counts[term] < wanted:
            short[term] = f"{counts[term]} of {wanted}"
    assert not short, f"terms below their quota of practice questions: {short}"


def test_every_objective_can_fill_its_share_of_a_mock_exam() -> None:
    vocabulary = load_vocabulary()
    have = Counter(q.objective for q in practice_questions())
    total = sum(o.weight for o in vocabulary.objectives)
    for objective in vocabulary.objectives:
        share = round(60 * objective.weight / total)
        assert have[objective.id] >= 2 * share, f"{objective.id}: {have[objective.id]} questions for {share} an exam"


def test_no_answer_key_is_malformed() -> None:
    """The key grades right; every other choice, wrong variant and near miss grades wrong."""
    for q in all_questions():
        assert grade(q, q.key).correct, q.id
        if q.kind in ("single", "choice"):
            for i, choice in enumerate(q.choices):
                assert grade(q, q.letter(i)).correct == choice.correct, f"{q.id} ({q.letter(i)})"
        if q.kind == "choose":
            wrong = next(q.letter(i) for i, c in enumerate(q.choices) if not c.correct)
            assert not grade(q, [*q.key[:-1], wrong]).correct, q.id
        if q.kind == "fill":
            for answer in q.answers:
                assert grade(q, f"  {answer}  ").correct, f"{q.id}: {answer!r}"
            for wrong_answer in q.wrong_answers:
                feedback = grade(q, wrong_answer.value)
                assert not feedback.correct and wrong_answer.feedback in feedback.message, q.id
        if q.kind == "numeric":
            for wrong_answer in q.wrong_answers:
                assert not grade(q, wrong_answer.value).correct, q.id


def test_choices_do_not_depend_on_their_order() -> None:
    """Practice and exam questions are shown with their choices shuffled: no text may refer to a letter."""
    letter = re.compile(r"\(([a-f])\)|\b(?:all|none|both) of the above\b", re.I)
    for q in practice_questions():
        texts = [q.prompt, q.explanation, *[c.text for c in q.choices], *[c.feedback for c in q.choices]]
        assert not [t for t in texts if letter.search(t)], q.id


def test_every_question_points_to_a_heading_that_exists() -> None:
    missing = [f"{q.bank}/{q.id}: {q.section}" for q in all_questions()
               if not (COURSE_DIR / "source" / q.section.notebook).is_dir()
               or q.section.heading not in headings(q.section.notebook)]
    assert not missing, "sections that are not headings of their notebook:\n" + "\n".join(missing)


def graded_cells() -> list[tuple[Path, nbformat.NotebookNode]]:
    return [(path, cell) for path in NOTEBOOKS for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")]


def test_graded_cells_use_graded_questions_only() -> None:
    practice = {q.id for q in practice_questions()}
    used = set()
    for path, cell in graded_cells():
        for bank, question_id in GRADED_CALL.findall(cell.source):
            assert bank == path.parent.name, f"{path.name} grades with another notebook's bank {bank}"
            load_graded_bank(bank).question(question_id)  # raises QuizError if it is not a graded question
            assert question_id not in practice, f"{question_id} is also a practice question"
            used.add((bank, question_id))
    graded = {(n, q.id) for n in graded_bank_names() for q in load_graded_bank(n).questions}
    assert used == graded, f"graded questions no notebook uses: {sorted(graded - used)}"


def test_the_solutions_in_the_source_notebooks_pass_their_graded_cells() -> None:
    for path in NOTEBOOKS:
        namespace: dict[str, object] = {}
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                found = SOLUTION.search(cell.source)
                assert found, f"{path.name}: {meta['grade_id']} has no solution block"
                exec(found.group(1), namespace)  # noqa: S102 - the course's own solution code
            elif meta.get("grade") and GRADED_CALL.search(cell.source):
                exec(cell.source, namespace)  # noqa: S102 - asserts that the solution is graded right


def test_an_id_is_either_practice_or_graded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = tmp_path / "course"
    shutil.copytree(COURSE_DIR / "quizzes", course / "quizzes")
    graded = (course / "quizzes" / "graded" / "02-ha-concepts.toml").read_text()
    question = graded[graded.index("[[questions]]"):graded.index("[[questions]]", graded.index("[[questions]]") + 1)]
    practice = course / "quizzes" / "02-ha-concepts.toml"
    practice.write_text(practice.read_text() + "\n" + question)
    monkeypatch.setenv("HALAB_COURSE_DIR", str(course))
    with pytest.raises(QuizError, match=r"parallel-two-nines-nodes.*both 02-ha-concepts and graded/02-ha-concepts"):
        check_catalogue()


GOOD = """
[[questions]]
id = "q1"
kind = "single"
terms = ["quorum"]
section = "2.7 Quorum"
prompt = "p"
explanation = "e"
choices = [{ text = "a", correct = true }, { text = "b" }, { text = "c" }, { text = "d" }]
"""


@pytest.mark.parametrize("change, words", [
    (('explanation = "e"', 'explanaton = "e"'), "needs a non-empty string 'explanation'"),
    (('prompt = "p"', 'prompt = "p"\nexplantion = "x"'), "unknown keys for kind 'single': explantion"),
    (('["quorum"]', '["quorom"]'), "unknown term 'quorom'.*did you mean 'quorum'"),
    (('section = "2.7 Quorum"\n', ''), "needs a non-empty string 'section'"),
    (('{ text = "d" }', '{ text = "d", correct = "yes" }'), "choice 4: correct must be true or false"),
    ((', { text = "d" }', ''), "kind 'single' needs 4 to 5 choices, has 3"),
    (('{ text = "d" }', '{ text = "a" }'), "two choices have the same text"),
    (('kind = "single"', 'kind = "choice"'), "only for graded banks"),
    (('kind = "single"', 'kind = "choose"\npick = 2'), "pick = 2 but 1 choices are marked correct"),
    (('kind = "single"', 'kind = "essay"'), "kind must be one of single, choose, fill, numeric"),
    (('id = "q1"', 'id = "Q 1"'), "id must be lower-case"),
])  # fmt: skip
def test_a_malformed_question_names_file_question_and_problem(tmp_path: Path, change: tuple[str, str],
                                                              words: str) -> None:
    path = tmp_path / "09-bad.toml"
    assert change[0] in GOOD
    path.write_text(GOOD.replace(*change))
    with pytest.raises(QuizError, match=rf"{re.escape(str(path))}: question (q1|Q 1): .*{words}"):
        load_bank(path)


@pytest.mark.parametrize("body, words", [
    ('kind = "fill"\nanswers = ["crm_mon -1"]\nwrong_answers = [{ text = "crm_mon   -1", feedback = "f" }]',
     "wrong answer 'crm_mon   -1' is also an accepted answer"),
    ('kind = "fill"\nanswers = []', "needs answers"),
    ('kind = "fill"\nanswers = ["A", "a"]\ncase_sensitive = false', "means the same as an earlier one"),
    ('kind = "numeric"\nanswer = 10\ntolerance = 1\nwrong_answers = [{ value = 10.5, feedback = "f" }]',
     "within the tolerance"),
    ('kind = "numeric"\nanswer = 10\ntolerance = -1', "tolerance must be zero or more"),
])  # fmt: skip
def test_malformed_answer_keys(tmp_path: Path, body: str, words: str) -> None:
    path = tmp_path / "09-bad.toml"
    path.write_text(f'[[questions]]\nid = "q1"\n{body}\nterms = ["quorum"]\nsection = "s"\nprompt = "p"\n'
                    'explanation = "e"\n')
    with pytest.raises(QuizError, match=rf"09-bad.toml: question q1: .*{re.escape(words)}"):
        load_bank(path)


def test_a_malformed_objectives_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "quizzes").mkdir()
    objectives = tmp_path / "quizzes" / "objectives.toml"
    monkeypatch.setenv("HALAB_COURSE_DIR", str(tmp_path))
    objectives.write_text('[[objectives]]\nid = "x"\ntitle = "X"\nweight = 2\nterms = ["a", "a"]\n')
    with pytest.raises(QuizError, match=r"objectives.toml: objective x: term 'a' is already in x"):
        load_vocabulary()
    objectives.write_text('[[objectives]]\nid = "x"\ntitle = "X"\nweight = 0\nterms = ["a"]\n')
    with pytest.raises(QuizError, match="weight must be a whole number"):
        load_vocabulary()
    objectives.write_text('[[objectives]]\nid = "x"\ntitle = "X"\nweight = 1\nterms = ["a"]\n'
                          '[[demonstrations]]\nterm = "b"\nlab = "clustering"\n')
    with pytest.raises(QuizError, match="demonstrations #1: unknown term 'b'"):
        load_vocabulary()


def test_fill_in_answers_are_normalised_sensibly() -> None:
    q = load_bank("03-clustering").question("cfgtool-reload")
    for typed in ("corosync-cfgtool -R", "corosync-cfgtool   -R", " `corosync-cfgtool -R` ", "# corosync-cfgtool -R"):
        assert grade(q, typed).correct, typed
    lower = grade(q, "corosync-cfgtool -r")
    assert not lower.correct and "case-sensitive" in lower.message  # its own wrong answer explains the mistake
    other = grade(q, "Corosync-Cfgtool -R")
    assert not other.correct and "Letter case matters" in other.message
    assert not grade(q, "").well_formed and not grade(q, 42).well_formed and not grade(q, "x" * 400).well_formed
    term = load_bank("02-ha-concepts").question("dr-rpo-fill")
    assert grade(term, "rpo").correct and grade(term, "Recovery Point Objective").correct


def test_choose_questions_need_exactly_the_asked_number() -> None:
    q = load_bank("02-ha-concepts").question("redundancy-spof")
    right = q.key
    assert grade(q, right).correct and grade(q, "".join(right)).correct
    assert "Choose exactly two" in grade(q, right[:1]).message and not grade(q, right[:1]).well_formed
    assert not grade(q, "abcd").well_formed
    assert "is not one of the choices" in grade(q, "z").message


def test_every_361_1_term_is_demonstrated_somewhere_real() -> None:
    vocabulary = load_vocabulary()
    specs = {p.stem: tomllib.loads(p.read_text()) for p in (REPO_ROOT / "labs").glob("*.toml")}
    for term in vocabulary.objective("361.1").terms:
        assert vocabulary.demonstrated(term), f"no lab or widget demonstrates {term!r}"
    for demo in vocabulary.demonstrations:
        if demo.widget:
            assert demo.widget in widgets.__all__, demo
            source = (COURSE_DIR / "source" / demo.notebook / f"{demo.notebook}.ipynb").read_text()
            assert f"{demo.widget}(" in source, f"{demo.notebook} does not show {demo.widget}"
        elif demo.lab in specs:
            spec = specs[demo.lab]
            tasks = {t["id"] for t in spec.get("tasks", specs.get(spec.get("tasks_from", ""), {}).get("tasks", []))}
            assert not demo.task or demo.task in tasks or (demo.lab, demo.task) in PENDING_TASKS, demo
        else:
            assert demo.lab in NEW_LABS, f"{demo.lab} is not a lab"


def test_the_readme_lists_where_each_term_is_seen_live() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("### The 20 terms of 361.1, live"):]
    section = section[: section.index("\n## ", 1)] if "\n## " in section else section
    for term in load_vocabulary().objective("361.1").terms:
        assert f"**{term}**" in section, f"the README does not list {term!r}"


def test_practice_bank_names_follow_the_notebooks() -> None:
    notebooks = {p.parent.name for p in NOTEBOOKS}
    assert set(bank_names()) <= notebooks and set(graded_bank_names()) <= notebooks


def test_every_lab_task_feeds_spaced_review() -> None:
    """A failed check of any task of any lab puts terms up for review: each task has terms in objectives.toml
    ([[lab_terms]] or a demonstration), and every lab_terms entry names a real lab and task."""
    vocabulary = load_vocabulary()
    specs = {p.stem: tomllib.loads(p.read_text()) for p in (REPO_ROOT / "labs").glob("*.toml")}

    def tasks(lab: str) -> set[str]:
        return {t.id for t in load_spec(lab).tasks}  # a lab's own tasks and those it takes from another lab

    missing = [f"{lab}/{task}" for lab in specs for task in sorted(tasks(lab))
               if not vocabulary.terms_for_lab(lab, task)]
    assert not missing, f"lab tasks without terms for spaced review: {missing}"
    for link in vocabulary.lab_links:
        for lab in link.labs:
            assert lab in specs and (not link.task or link.task in tasks(lab)), (lab, link.task)


def test_graded_banks_use_the_exam_forms() -> None:
    """Graded questions are asked as the exam asks: one of 4-5, choose N, a fill-in or a value."""
    for name in graded_bank_names():
        for q in load_graded_bank(name).questions:
            assert q.kind in ("single", "choose", "fill", "numeric"), f"graded/{name}: {q.id} is {q.kind!r}"
