"""A seeded generator of whole answer sets for `cookiecutter --no-input key=value ...`.

It draws from the space users actually type into: names in any script with quotes, apostrophes
and backslashes, names whose package sorts before, between and after the project's other
first-party modules, slugs ending in a mode's name or at the length limits, every choice, both
bucket options, odd but legal prefixes and suffixes, numbers typed with zeros and spaces; and,
now and then, an answer the pre-generation hook must refuse.
"""

from __future__ import annotations

import random
import string

from .conftest import load_hook

MODES = ("csv", "jsonl", "bytes")
NAME_WORDS = (
    "Orders", "CSV", "csv", "JSONL", "jsonl", "Bytes", "bytes", "Click", "Stream", "alpha", "zeta",
    "Web", "Hits", "Blob", "Copier", "Sales", "Zoë's", '"Quoted"', "C:\\Users\\data", "日本語",
    "Ünïcode", "a", "z", "A1", "devtools", "tests", "events", "typing", "extensions", "2024", "O'Brien",
    "✓", "déjà", "vu", "textframe", "handler", "process", "records", "class", "json", "boto3", "x",
    "'''", '"""', "\\", "{", "}", "$HOME", "%s", "#", "—", "Ελληνικά", "Кириллица",
)  # fmt: skip
TEXT_WORDS = (*NAME_WORDS, "\t", 'say "hi"', "it's", "C:\\new\\table", "\\N{BULLET}", "\\u00e9", "*/", "${x}")
SLUG_TAILS = ("", "-csv", "-jsonl", "-bytes", "-text", "_csv", "-2")
REGIONS = ("us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "il-central-1", "us-east", "EU-WEST-1")
SAFE_KEY_CHARS = string.ascii_letters + string.digits + "!-_.'()"
UNSAFE_KEY_CHARS = ' "\\*?${}#%^<>[]~|`äé'
SUFFIXES = ("", ".csv", ".jsonl", ".json", ".gz", ".csv.gz", ".CSV", "s", "n", "-x", "(1)", ".bin", "'", "l")
NUMBERS: dict[str, tuple[int, int]] = load_hook("pre_gen_project").INT_RANGES  # key: (low, high), legal


def _words(rng: random.Random, pool: tuple[str, ...], most: int) -> str:
    return " ".join(rng.choice(pool) for _ in range(rng.randint(1, most)))


def _slug(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.15:
        return rng.choice(("a", "zz", "d", "u", "typing-extensions", "json", "class", "tests", "Bad", "x-", "9lives"))
    length = rng.choice((1, 2, 5, 12, 30, 40, 41, 48, 62, 63, 64))
    head = rng.choice(string.ascii_lowercase)
    body = "".join(rng.choice(string.ascii_lowercase + string.digits + "-") for _ in range(max(0, length - 1)))
    slug = (head + body).replace("--", "-")
    tail = rng.choice(SLUG_TAILS)
    return (slug[: max(1, length - len(tail))].rstrip("-") or "s") + tail


def _prefix(rng: random.Random, allow_empty: bool) -> str:
    if allow_empty and rng.random() < 0.15:
        return ""
    chars = SAFE_KEY_CHARS + (UNSAFE_KEY_CHARS if rng.random() < 0.1 else "")
    segments = ["".join(rng.choice(chars) for _ in range(rng.randint(1, 8))) for _ in range(rng.randint(1, 3))]
    return "/".join(segments) + "/"


def _number(rng: random.Random, key: str) -> str:
    low, high = NUMBERS[key]
    value = rng.choice((low, high, rng.randint(low, high), low - 1, high + 1)) if rng.random() < 0.2 else low
    if rng.random() >= 0.2:
        value = rng.randint(low, min(high, low + 4096))
    text = str(value)
    return rng.choice((text, text, "0" + text, f" {text}", f"{text} ", f"+{text}" if value >= 0 else text))


def draw_answers(rng: random.Random) -> dict[str, str]:
    """One answer set, as `key=value` strings for the cookiecutter CLI (keys left out keep defaults)."""
    answers: dict[str, str] = {"project_name": _words(rng, NAME_WORDS, 4)}
    if rng.random() < 0.35:
        answers["project_slug"] = _slug(rng)
    if rng.random() < 0.6:
        answers["description"] = _words(rng, TEXT_WORDS, 8)
    if rng.random() < 0.3:
        answers["author_name"] = _words(rng, NAME_WORDS, 3)
    if rng.random() < 0.1:
        answers["author_email"] = rng.choice(("ada@example.org", "o'brien@example.ie", "not-an-email"))
    answers["processing_mode"] = rng.choice(MODES)
    answers["lambda_runtime"] = rng.choice(("python3.13", "python3.12", "python3.11"))
    answers["lambda_architecture"] = rng.choice(("arm64", "x86_64"))
    answers["__on_object_change"] = rng.choice(("fail", "restart"))
    if rng.random() < 0.3:
        answers["aws_region"] = rng.choice(REGIONS)
    for key in NUMBERS:
        if rng.random() < 0.25:
            answers[key] = _number(rng, key)
    if rng.random() < 0.35:
        answers["create_bucket"] = rng.choice(("false", "no"))
        answers["__existing_bucket_name"] = rng.choice(("my-data", "data.example.com", "a" * 63, "My_Bucket", ""))
    if rng.random() < 0.5:
        answers["__input_prefix"] = _prefix(rng, allow_empty=True)
        answers["__input_suffix"] = rng.choice(SUFFIXES)
    if rng.random() < 0.3:
        answers["__output_prefix"] = _prefix(rng, allow_empty=False)
        answers["__state_prefix"] = _prefix(rng, allow_empty=False)
    if rng.random() < 0.1:
        answers["__stack_name"] = rng.choice(("Mixed-Case-Stack", "s" * 54, "s" * 55, "1bad", "ok-stack"))
    return answers
