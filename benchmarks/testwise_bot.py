"""How far test-wiseness alone gets on the mock exam: a bot that knows nothing takes 20 seeded mock exams.

Run (no lab needed):  .venv/bin/python benchmarks/testwise_bot.py [--exams 20] [--include-course-only]

The test-wise bot picks the longest option (for "choose N" the N longest; the first of equals as shown) and
leaves fill-ins and numbers empty; the random guesser picks options at random, the baseline of pure chance.
Also printed: the cue shares over every single-choice question of the practice and graded banks (how often the
right option is the longest, the shortest, the most or the only non-"absolute"-worded one), and the practice
questions per objective against the exam's weights. Goal (issue 22): the bot under 40 %, each share under 35 %.
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter

from halab.course.cues import RandomGuesser, average_score, cue_shares, longest_pick
from halab.course.exam import EXAM_QUESTIONS
from halab.course.objectives import load_vocabulary
from halab.course.quiz import check_catalogue, practice_questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exams", type=int, default=20)
    parser.add_argument("--include-course-only", action="store_true")
    args = parser.parse_args()
    vocabulary = load_vocabulary()
    pool = practice_questions()
    practice, graded = check_catalogue()
    shares = cue_shares([q for bank in (*practice, *graded) for q in bank.questions])
    print(f"single-choice questions (practice and graded): {shares.total}")
    for rule, share in shares.as_dict().items():
        print(f"  right option is the {rule.replace('_', ' ')} one: {share:.1f} %")
    kinds = Counter(q.kind for q in pool)
    print(f"practice questions: {len(pool)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    counts = Counter(q.objective for q in pool)
    taught = [o for o in vocabulary.objectives if args.include_course_only or not o.course_only]
    total = sum(o.weight for o in taught)
    for objective in vocabulary.objectives:
        per_exam = EXAM_QUESTIONS * objective.weight / total if objective in taught else 0
        print(f"  {objective.id:6} weight {objective.weight}: {counts[objective.id]:3} questions, "
              f"{per_exam:4.1f} per {EXAM_QUESTIONS}-question exam" + ("" if objective in taught else " (left out)"))
    for name, answerer in (("test-wise bot", longest_pick), ("random guesser", RandomGuesser(seed=1))):
        mean, scores = average_score(pool, vocabulary, answerer, exams=args.exams,
                                     include_course_only=args.include_course_only)
        print(f"{name}: {mean:.1f} % on average over {args.exams} mock exams (seeds 1-{args.exams}; "
              f"min {min(scores):.1f}, median {statistics.median(scores):.1f}, max {max(scores):.1f})")


if __name__ == "__main__":
    main()
