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


def coffee_roasting(rows: int = 300, seed: int = 2) -> str:
    """Roasting temperature (°C) and duration (minutes), and whether the roast was good: the course's
    coffee-roasting example. Good roasts lie in a triangle: not too cold, not too short, and not too hot
    for too long, so three sigmoid units (one per edge) separate them.
    """
    rng = np.random.default_rng(seed)
    temperature = rng.uniform(150, 285, rows)
    duration = rng.uniform(11.5, 15.5, rows)
    hottest = -3 / (260 - 175) * temperature + 21  # the longest good duration at each temperature
    good = (temperature > 175) & (temperature < 260) & (duration > 12) & (duration < 15) & (duration <= hottest)
    lines = ["temperature,duration,good_roast"]
    lines += [f"{t:.1f},{d:.2f},{int(y)}" for t, d, y in zip(temperature, duration, good)]
    return "\n".join(lines) + "\n"


def shape_images(per_class: int = 200, size: int = 28, seed: int = 4) -> dict[str, bytes]:
    """28×28 grayscale PNGs of a circle, a square or a triangle, one folder per class: each shape with
    its own size, position and brightness, on a noisy background. {"circle/000.png": png bytes, ...}"""
    import io

    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    files = {}
    for shape in ("circle", "square", "triangle"):
        for number in range(per_class):
            radius = rng.uniform(5, 10)
            cx, cy = rng.uniform(radius + 1, size - radius - 1, 2)
            image = Image.new("L", (size, size), 0)
            draw = ImageDraw.Draw(image)
            ink = int(rng.uniform(150, 255))
            if shape == "circle":
                draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=ink)
            elif shape == "square":
                half = radius * 0.85
                draw.rectangle([cx - half, cy - half, cx + half, cy + half], fill=ink)
            else:
                draw.polygon([(cx, cy - radius), (cx - radius, cy + radius * 0.8), (cx + radius, cy + radius * 0.8)],
                             fill=ink)
            pixels = np.asarray(image, dtype=np.float64) + rng.normal(0, 25, (size, size))
            buffer = io.BytesIO()
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L").save(buffer, format="PNG", optimize=True)
            files[f"{shape}/{number:03d}.png"] = buffer.getvalue()
    return files


FILES = {"exam_scores.csv": exam_scores, "coffee_roasting.csv": coffee_roasting}
FOLDERS = {"shapes": shape_images}

if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    for name, make in FILES.items():
        (DATA / name).write_text(make())
        print(f"wrote {DATA / name}")
    for name, make in FOLDERS.items():
        for file, content in make().items():
            (DATA / name / file).parent.mkdir(parents=True, exist_ok=True)
            (DATA / name / file).write_bytes(content)
        print(f"wrote {DATA / name}/")
