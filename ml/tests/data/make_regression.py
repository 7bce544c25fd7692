"""Writes regression.csv: a deterministic Friedman-1-style regression set with a categorical
feature and missing cells, for the trainer's regression and preprocessing tests.
Usage: python3 make_regression.py > regression.csv"""
import math, random

rng = random.Random(2024)
print("x1,x2,x3,x4,region,y")
for i in range(600):
    x = [rng.random() for _ in range(4)]
    region = rng.choice(["north", "south", "east"])
    y = 10 * math.sin(math.pi * x[0] * x[1]) + 20 * (x[2] - 0.5) ** 2 + 10 * x[3]
    y += {"north": 3.0, "south": -2.0, "east": 0.0}[region] + rng.gauss(0, 0.5)
    cells = [f"{v:.5f}" for v in x]
    if i % 37 == 5:
        cells[3] = ""  # a missing number, imputed with the training mean
    if i % 41 == 7:
        region = ""  # a missing category, encoded in the unknown slot
    print(",".join(cells + [region, f"{y:.5f}"]))
