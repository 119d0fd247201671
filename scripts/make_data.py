"""Make the small data files shipped in data/ (fixed seed: running it again gives the same bytes).

    python scripts/make_data.py
"""

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"


def exam_scores(rows: int = 200, seed: int = 0) -> str:
    """Two exam scores (0-100) and whether the student was admitted: a logistic regression dataset.

    Admission follows a linear rule on the scores plus noise, so a single sigmoid unit fits it well
    but not perfectly.
    """
    rng = np.random.default_rng(seed)
    exam1 = rng.uniform(30, 100, rows)
    exam2 = rng.uniform(30, 100, rows)
    z = 0.2 * (exam1 - 65) + 0.2 * (exam2 - 65) + rng.normal(0, 1.5, rows)
    admitted = (z > 0).astype(int)
    lines = ["exam1,exam2,admitted"]
    lines += [f"{a:.1f},{b:.1f},{y}" for a, b, y in zip(exam1, exam2, admitted)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    (DATA / "exam_scores.csv").write_text(exam_scores())
    print(f"wrote {DATA / 'exam_scores.csv'}")
