"""Random draws the demo generator shares: categorical, lognormal, record numbers, callers."""

from __future__ import annotations

import numpy as np

FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Noah", "Grace",
    "Leo", "Freya", "Arthur", "Lily", "Oscar", "Sophie", "Thomas", "Emily", "James", "Ella",
    "William", "Chloe", "Henry", "Evie", "Samuel", "Ruby", "Joseph", "Poppy", "Daniel", "Alice",
    "David", "Sarah", "Michael", "Laura", "Paul", "Rachel", "Mark", "Claire", "Andrew", "Helen",
    "Mohammed", "Aisha", "Ahmed", "Fatima", "Raj", "Priya", "Arjun", "Anjali", "Wei", "Mei",
    "Tomasz", "Agnieszka", "Piotr", "Zofia", "Luca", "Giulia", "Mateo", "Sofia", "Siobhan",
    "Ciaran", "Niamh", "Rhys", "Cerys", "Kwame", "Adaeze", "Chloé", "José", "Zoë", "Bethan",
    "Hamish",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Cooper",
    "Ward", "Morris", "King", "Harris", "Lewis", "Baker", "Khan", "Ali", "Hussain", "Begum",
    "Singh", "Sharma", "Chen", "Wang", "Nowak", "Kowalski", "Rossi", "Garcia", "Murphy",
    "O'Brien", "O'Connor", "MacDonald", "Campbell", "Stewart", "Reid", "Bell", "Price",
    "Okafor", "Mensah", "Nguyen", "Fraser", "Lloyd", "Pritchard", "Byrne", "Kelly",
    "Fitzgerald", "Müller", "Dubois", "Shaw", "Ellis", "Mason", "Marshall", "Owen",
)  # fmt: skip


def choose(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def lognormal(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Lognormal draws parameterised by median, as handling times are usually described."""
    return median * np.exp(sigma * rng.standard_normal(len(median)))


def record_numbers(rng: np.random.Generator, prefix: str, n: int, start: int) -> np.ndarray:
    """Ascending record numbers with small gaps (numbers are shared with other tables)."""
    seq = start + np.cumsum(rng.integers(1, 4, size=n))
    return np.char.add(prefix, np.char.zfill(seq.astype(str), 7))


def draw_callers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fake employee names; a few frequent callers, as in every real service desk."""
    staff = 2400
    first = np.array(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), staff)]
    last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), staff)]
    names = first + " " + last
    w = 1.0 / (np.arange(staff) + 15.0) ** 0.8
    return names[rng.choice(staff, size=n, p=w / w.sum())]
