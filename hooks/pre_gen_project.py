"""Refuse bad answers before cookiecutter writes a single file; record good ones in the project.

Every rule lives in a small importable function so the template's tests can call it directly;
cookiecutter runs this file as a script after rendering it with Jinja, and then only `main` runs.
A bad answer prints one `ERROR: <what to fix>` line per problem and exits 1, which makes cookiecutter
stop and delete the half-made project.
"""

from __future__ import annotations

import ipaddress
import json
import keyword
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from typing import Any

# Cookiecutter renders this file with Jinja before running it. `tojson` turns the answers into JSON
# that is pure ASCII and escapes every quote and backslash inside strings (a `"` becomes `\"`, a
# `'` becomes `\u0027`), so no answer can close this raw triple-quoted string early or inject
# code; the raw string keeps JSON's backslash escapes for json.loads. Before rendering, the literal
# placeholder text is still valid Python, so this module imports fine in tests.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

MODES = ("csv", "jsonl", "bytes")
RUNTIMES = ("python3.13", "python3.12", "python3.11")
ARCHITECTURES = ("arm64", "x86_64")
OBJECT_CHANGE_POLICIES = ("fail", "restart")

# Answers that are not asked: each is the default of a stack parameter, which `make deploy
# PARAMS="Name=value"` overrides per environment without re-baking. Set them at bake time with
# `cookiecutter --no-input <template> __memory_mb=2048` (cookiecutter prompts every key without `__`).
PARAMETER_OF = {
    "memory_mb": "MemorySize",
    "timeout_seconds": "Timeout",
    "ephemeral_storage_mb": "EphemeralStorage",
    "max_hops": "MaxHops",
    "max_run_hours": "MaxRunHours",
    "reserved_concurrency": "ReservedConcurrency",
    "async_retries": "AsyncRetries",
    "input_prefix": "InputPrefix",
    "input_suffix": "InputSuffix",
    "output_prefix": "OutputPrefix",
    "state_prefix": "StatePrefix",
    "on_object_change": "OnObjectChange",
    "state_retention_days": "StateRetentionDays",
    "existing_bucket_name": "ExistingBucketName",
}
# The whole-number answers and their bounds (template.yaml's MinValue/MaxValue for the parameter
# each one defaults); recorded as numbers whatever was typed ("00", " 2048").
INT_RANGES = {
    "__memory_mb": (128, 10240),
    "__timeout_seconds": (1, 900),
    "__ephemeral_storage_mb": (512, 10240),
    "__max_hops": (1, 1_000_000),
    "__max_run_hours": (1, 8760),
    "__reserved_concurrency": (0, 1000),
    "__async_retries": (0, 2),
    "__state_retention_days": (1, 3650),
}
# Written into the new project so `cookiecutter --replay-file .cookiecutter.json` (and cruft) can
# regenerate it; machine-local keys are left out (they differ on every machine).
ANSWERS_FILE = ".cookiecutter.json"
LOCAL_KEYS = frozenset({"_output_dir", "_repo_dir", "_checkout"})
# Keys earlier versions asked for; a replay file from then still carries them.
FORMER_KEYS = (*PARAMETER_OF, "stack_name")

# Mirrors the deployed package's layout (config.py): every key the function writes ends with one of
# these extensions, and after its prefix uses only this alphabet. A property test in the template's
# tests keeps filter_matches_writes here equal to config.py's, which the function runs at init.
WRITTEN_SUFFIXES = (".json", ".jsonl", ".bin")
WRITTEN_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789/._-")

# Top-level import names a package must not take: the project's own folders, plus every module
# installed by the generated project's pinned dependencies (runtime and dev, every mode), which
# tests/test_reserved_names.py reads off a baked project's .venv and keeps equal to this list.
PROJECT_MODULES = frozenset({"conftest", "devtools", "events", "src", "test", "tests"})
DEPENDENCY_MODULES = frozenset(
    # BEGIN DEPENDENCY_MODULES (written by `python -m tests.test_reserved_names --write`)
    {
        "_cffi_backend",
        "_hypothesis_ftz_detector",
        "_hypothesis_globals",
        "_hypothesis_pytestplugin",
        "_pytest",
        "_yaml",
        "annotated_types",
        "antlr4",
        "ast_serialize",
        "attr",
        "attrs",
        "aws_lambda_powertools",
        "aws_xray_sdk",
        "blinker",
        "boto3",
        "botocore",
        "certifi",
        "cffi",
        "cfgv",
        "cfnlint",
        "charset_normalizer",
        "click",
        "cryptography",
        "dateutil",
        "distlib",
        "docker",
        "dotenv",
        "execnet",
        "filelock",
        "flask",
        "flask_cors",
        "graphql",
        "hypothesis",
        "identify",
        "idna",
        "iniconfig",
        "isympy",
        "itsdangerous",
        "jinja2",
        "jmespath",
        "joserfc",
        "jsonpatch",
        "jsonpatch_cli",
        "jsonpath_ng",
        "jsonpointer",
        "jsonschema",
        "jsonschema_path",
        "jsonschema_specifications",
        "lazy_object_proxy",
        "librt",
        "markupsafe",
        "moto",
        "mpmath",
        "mypy",
        "mypy_boto3_lambda",
        "mypy_boto3_s3",
        "mypy_extensions",
        "mypyc",
        "networkx",
        "nodeenv",
        "openapi_schema_validator",
        "openapi_spec_validator",
        "orjson",
        "packaging",
        "pathable",
        "pathspec",
        "platformdirs",
        "pluggy",
        "pre_commit",
        "py",
        "py_partiql_parser",
        "pycparser",
        "pydantic",
        "pydantic_core",
        "pydantic_settings",
        "pygments",
        "pyparsing",
        "pytest",
        "python_discovery",
        "referencing",
        "regex",
        "requests",
        "responses",
        "rfc3339_validator",
        "rpds",
        "ruff",
        "s3transfer",
        "samtranslator",
        "six",
        "sortedcontainers",
        "sympy",
        "typing_extensions",
        "typing_inspection",
        "urllib3",
        "virtualenv",
        "werkzeug",
        "wrapt",
        "xdist",
        "xmltodict",
        "yaml",
    }
    # END DEPENDENCY_MODULES
)
SHADOWED_MODULES = PROJECT_MODULES | DEPENDENCY_MODULES

SLUG_RE = re.compile(r"[a-z][a-z0-9-]*")
STACK_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
REGION_RE = re.compile(
    r"[a-z]{2}(?:-gov|-iso[a-z]?)?-"
    r"(?:central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9][0-9]?"
)
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
BUCKET_BAD_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_BAD_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


class AnswerError(ValueError):
    """An answer cannot be used; the message says what to fix."""


def check_slug(slug: Any) -> None:
    """The slug names the folder, the repository and (by default) the stack and bucket names."""
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        raise AnswerError(
            f"project_slug={slug!r} must use only lowercase letters, digits and dashes, and start with a letter"
        )
    if len(slug) > 63:
        raise AnswerError(f"project_slug={slug!r} is {len(slug)} characters; use at most 63")
    if slug.endswith("-"):
        raise AnswerError(f"project_slug={slug!r} must end with a letter or digit, not a dash")


def check_stack_name(name: Any, create_bucket: Any = False, region: Any = "") -> None:
    """CloudFormation stack names: a letter first, then letters, digits and dashes.

    The template also derives names from it: the function `<stack>-processor` (<= 64 characters)
    and, when it creates the bucket, `<stack>-<account id>-<region>` (<= 63, lowercase).
    """
    if not isinstance(name, str) or not STACK_RE.fullmatch(name) or len(name) > 128:
        raise AnswerError(
            f"__stack_name={name!r} is not a CloudFormation stack name: start with a letter, "
            "then letters, digits and dashes, at most 128 characters"
        )
    if len(name) > 64 - len("-processor"):
        raise AnswerError(
            f"__stack_name={name!r} is too long: the function is named '<stack_name>-processor', "
            "which Lambda limits to 64 characters; use at most 54 (or a shorter project_slug)"
        )
    if create_bucket is True:
        longest = 63 - len("-123456789012-") - len(region if isinstance(region, str) and region else "ap-southeast-4")
        if name != name.lower() or len(name) > longest:
            raise AnswerError(
                f"__stack_name={name!r} cannot name the bucket '<stack_name>-<account id>-<region>': bucket "
                f"names are lowercase and at most 63 characters, so use at most {longest} lowercase "
                "letters, digits and dashes (or create_bucket=false with an existing bucket)"
            )


def check_package_name(name: Any) -> None:
    """The package is imported by name in the Lambda runtime and in tests; it must not shadow."""
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
        raise AnswerError(
            f"package name {name!r} (from project_slug) is not a valid Python identifier; "
            "choose a project_slug of lowercase letters, digits and dashes"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise AnswerError(f"package name {name!r} is a Python keyword; choose another project_slug")
    if name in sys.stdlib_module_names or name in SHADOWED_MODULES:
        raise AnswerError(
            f"package name {name!r} would shadow the module {name!r} that the project needs; "
            "choose another project_slug"
        )


def check_region(region: Any) -> None:
    """A typo here only shows at deploy time, so catch it now."""
    if not isinstance(region, str) or not REGION_RE.fullmatch(region):
        raise AnswerError(
            f"aws_region={region!r} is not an AWS region name like us-east-1, eu-central-2 or us-gov-west-1"
        )


def as_int(name: str, value: Any) -> int:
    """Cookiecutter hands numbers over as strings ("1024"); accept those and real ints only."""
    if isinstance(value, bool):
        raise AnswerError(f"{name}={value!r} must be a whole number, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        return int(value.strip())
    raise AnswerError(f"{name}={value!r} must be a whole number")


def check_int_range(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Lambda rejects out-of-range settings only at deploy time; say the allowed range now."""
    number = as_int(name, value)
    if number < low or (high is not None and number > high):
        allowed = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise AnswerError(f"{name}={number} must be {allowed}")
    return number


def check_bool(name: str, value: Any) -> bool:
    """Templates branch on these: the string "false" would count as true there."""
    if not isinstance(value, bool):
        raise AnswerError(f"{name}={value!r} must be a boolean (true or false)")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """A replay file or --extra-context can carry any value; only the listed ones are built."""
    if value not in choices:
        raise AnswerError(f"{name}={value!r} must be one of: {', '.join(choices)}")


def check_email(email: Any) -> None:
    """Only a sanity check: it goes into pyproject.toml, where a stray value looks careless."""
    if not isinstance(email, str) or not EMAIL_RE.fullmatch(email):
        raise AnswerError(f"author_email={email!r} does not look like an e-mail address")


# What a prefix or suffix may hold: the characters AWS calls safe in object keys, less `*` (an IAM
# and EventBridge wildcard). Nothing here needs quoting in YAML, IAM, !Sub, JSON or an S3 event's
# URL-encoded key, so the answer reaches every one of them as typed.
KEY_PART_RE = re.compile(r"[A-Za-z0-9!_.'()/-]*")


def check_key_part(name: str, value: Any) -> str:
    """Prefixes and suffixes go into YAML, IAM ARNs, `!Sub` strings and event filters unescaped."""
    text = check_key_text(name, value)
    if not KEY_PART_RE.fullmatch(text):
        bad = "".join(sorted({c for c in text if not KEY_PART_RE.fullmatch(c)}))
        raise AnswerError(
            f"{name}={text!r} uses {bad!r}: use only letters, digits and ! - _ . ' ( ) / "
            "(the characters S3 calls safe in keys; '*' is a wildcard in IAM and event filters)"
        )
    return text


def check_key_text(name: str, value: Any, *, limit: int = 512) -> str:
    """S3 keys are UTF-8 of at most 1024 bytes; control characters break filters and consoles."""
    if not isinstance(value, str):
        raise AnswerError(f"{name}={value!r} must be text")
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise AnswerError(f"{name}={value!r} is not valid UTF-8") from None
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise AnswerError(f"{name}={value!r} contains control characters; S3 keys cannot use them")
    if len(encoded) > limit:
        raise AnswerError(f"{name}={value!r} is {len(encoded)} bytes of UTF-8; use at most {limit}")
    return value


def check_prefix(name: str, value: Any, required: bool) -> str:
    """Prefixes are folders: empty (input only) or `a/b/`; no leading `/` and no empty segment."""
    prefix = check_key_part(name, value)
    if not prefix:
        if required:
            raise AnswerError(f"{name} must not be empty: use a folder such as 'processed/'")
        return prefix
    if prefix.startswith("/"):
        raise AnswerError(f"{name}={prefix!r} must not start with '/' (S3 keys have no root)")
    if not prefix.endswith("/"):
        raise AnswerError(f"{name}={prefix!r} must end with '/', e.g. {prefix + '/'!r}")
    if "//" in prefix:
        raise AnswerError(f"{name}={prefix!r} must not contain '//' (an empty folder name)")
    return prefix


def check_prefixes_disjoint(output_prefix: str, state_prefix: str) -> None:
    """Output and state are listed and expired separately; nesting one in the other mixes them."""
    if output_prefix.startswith(state_prefix) or state_prefix.startswith(output_prefix):
        raise AnswerError(
            f"__output_prefix={output_prefix!r} and __state_prefix={state_prefix!r} overlap; "
            "use two separate folders such as 'processed/' and '_state/'"
        )


def filter_matches_writes(input_prefix: str, input_suffix: str, written_prefix: str) -> bool:
    """Could the trigger filter (prefix, suffix) match a key the function writes under a prefix?

    The same rule as the deployed config check: prefixes overlap, and the suffix is empty or
    could be the end of a written key (which uses WRITTEN_ALPHABET and ends in WRITTEN_SUFFIXES).
    """
    if not (input_prefix.startswith(written_prefix) or written_prefix.startswith(input_prefix)):
        return False
    if not input_suffix:
        return True
    return any(_could_end_a_write(suffix) for suffix in trigger_suffixes(input_suffix))


def trigger_suffixes(input_suffix: str) -> tuple[str, ...]:
    """What uploads must end with to start a run (none: any key). template.yaml's trigger fires
    for the input suffix and for it plus ".gz" (a compressed upload of the same data)."""
    if not input_suffix:
        return ()
    return (input_suffix,) if input_suffix.endswith(".gz") else (input_suffix, input_suffix + ".gz")


def _could_end_a_write(suffix: str) -> bool:
    if not set(suffix) <= WRITTEN_ALPHABET:
        return False
    return any(ext.endswith(suffix) or suffix.endswith(ext) for ext in WRITTEN_SUFFIXES)


def check_no_loop(input_prefix: str, input_suffix: str, output_prefix: str, state_prefix: str) -> None:
    """A trigger that matches the function's own writes is a recursive loop through S3."""
    for name, prefix in (("__output_prefix", output_prefix), ("__state_prefix", state_prefix)):
        if filter_matches_writes(input_prefix, input_suffix, prefix):
            raise AnswerError(
                f"the input filter (__input_prefix={input_prefix!r}, __input_suffix={input_suffix!r}) "
                f"could match keys the function writes under {name}={prefix!r}: every output "
                "would start another run, a recursive loop through S3. Use an __input_prefix that "
                "neither contains nor lies inside the output and state prefixes "
                "(e.g. 'incoming/'), or an __input_suffix that written keys never end with"
            )


def check_bucket_name(name: Any) -> None:
    """The S3 bucket naming rules, so a typo fails here and not in the middle of a deploy."""
    if not isinstance(name, str):
        raise AnswerError(f"__existing_bucket_name={name!r} must be text")
    problem = ""
    if not 3 <= len(name) <= 63:
        problem = "must be 3 to 63 characters long"
    elif not BUCKET_RE.fullmatch(name):
        problem = (
            "may use only lowercase letters, digits, dots and dashes, and must start and end with a letter or digit"
        )
    elif ".." in name or ".-" in name or "-." in name:
        problem = "must not have a dot next to another dot or a dash"
    elif name.startswith(BUCKET_BAD_PREFIXES) or name.endswith(BUCKET_BAD_SUFFIXES):
        problem = "uses a prefix or suffix that AWS reserves"
    else:
        try:
            ipaddress.IPv4Address(name)
            problem = "must not look like an IP address"
        except ValueError:
            pass
    if problem:
        raise AnswerError(f"__existing_bucket_name={name!r} {problem}")


def check_bucket_choice(create_bucket: bool, existing: Any) -> None:
    """Either the stack makes the bucket or it uses a named one; both at once is ambiguous.

    An existing bucket may also be named at deploy time only (`make deploy PARAMS=ExistingBucketName=...`),
    since each environment usually has its own.
    """
    if create_bucket:
        if existing:
            raise AnswerError(
                f"__existing_bucket_name={existing!r} is set but create_bucket is true; "
                "set create_bucket=false to use that bucket, or leave the name empty"
            )
    elif existing:
        check_bucket_name(existing)


def check_text(name: str, value: Any) -> None:
    """Free text (names, descriptions) may hold anything printable, but not be blank."""
    if not isinstance(value, str) or not value.strip():
        raise AnswerError(f"{name} must not be empty")
    check_key_text(name, value, limit=10_000)


def check_state_outlives_runs(max_run_hours: int, retention_days: int) -> None:
    """A run needs its first checkpoints and ledger pages until it ends (MaxRunHours at most), and
    the lifecycle rule expires state by age (StateRetentionDays); `make deploy` checks it too."""
    if max_run_hours >= 24 * retention_days:
        raise AnswerError(
            f"__max_run_hours={max_run_hours} is not less than __state_retention_days={retention_days} in hours "
            f"({24 * retention_days}): the lifecycle rule could expire a run's state while it still runs; raise "
            "__state_retention_days or lower __max_run_hours"
        )


class Problems:
    """Runs checks and keeps every AnswerError's message, so the user sees all of them at once."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def run(self, check: Callable[..., object], *args: Any) -> Any:
        try:
            return check(*args)
        except AnswerError as exc:
            self.errors.append(str(exc))
        except KeyError as exc:
            self.errors.append(f"answer {exc.args[0]!r} is missing")
        return None


def check_parameter_defaults(answers: Mapping[str, Any], problems: Problems) -> None:
    """The unasked keys become the stack parameters' defaults: the same bounds as template.yaml's."""
    run = problems.run
    get = answers.get
    run(check_choice, "__on_object_change", get("__on_object_change"), OBJECT_CHANGE_POLICIES)
    numbers = {name: run(check_int_range, name, get(name), low, high) for name, (low, high) in INT_RANGES.items()}
    if None not in (numbers["__max_run_hours"], numbers["__state_retention_days"]):
        run(check_state_outlives_runs, numbers["__max_run_hours"], numbers["__state_retention_days"])

    input_prefix = run(check_prefix, "__input_prefix", get("__input_prefix"), False)
    input_suffix = run(check_key_part, "__input_suffix", get("__input_suffix"))
    output_prefix = run(check_prefix, "__output_prefix", get("__output_prefix"), True)
    state_prefix = run(check_prefix, "__state_prefix", get("__state_prefix"), True)
    if output_prefix and state_prefix:
        run(check_prefixes_disjoint, output_prefix, state_prefix)
    if None not in (input_prefix, input_suffix, output_prefix, state_prefix):
        run(check_no_loop, input_prefix, input_suffix, output_prefix, state_prefix)


def former_key_message(key: str) -> str:
    """Earlier versions asked these; say where each went instead of silently dropping a value."""
    where = (
        f"the default of the stack parameter {PARAMETER_OF[key]} (change it per deploy with "
        f'make deploy PARAMS="{PARAMETER_OF[key]}=...")'
        if key in PARAMETER_OF
        else "set in samconfig.toml"
    )
    return (
        f"{key!r} is no longer an answer: it is {where}. In your replay file rename it to "
        f"'__{key}' to keep the value, or delete it to take the default"
    )


def validate(answers: Mapping[str, Any]) -> list[str]:
    """All problems with the answers, each a message saying what to fix (empty when all is well)."""
    problems = Problems()
    run = problems.run
    get = answers.get
    problems.errors.extend(former_key_message(key) for key in FORMER_KEYS if key in answers)
    run(check_text, "project_name", get("project_name"))
    run(check_slug, get("project_slug"))
    run(check_stack_name, get("__stack_name"), get("create_bucket"), get("aws_region"))
    run(check_package_name, get("__package_name"))
    if not isinstance(get("description", ""), str):
        problems.errors.append("description must be text")
    run(check_text, "author_name", get("author_name"))
    run(check_email, get("author_email"))
    run(check_choice, "processing_mode", get("processing_mode"), MODES)
    run(check_choice, "lambda_runtime", get("lambda_runtime"), RUNTIMES)
    run(check_choice, "lambda_architecture", get("lambda_architecture"), ARCHITECTURES)
    run(check_region, get("aws_region"))
    create_bucket = run(check_bool, "create_bucket", get("create_bucket"))
    if create_bucket is not None:
        run(check_bucket_choice, create_bucket, get("__existing_bucket_name"))
    check_parameter_defaults(answers, problems)
    return problems.errors


def load_answers(raw: str = ANSWERS_JSON) -> dict[str, Any]:
    """The rendered answers; fails loudly if this file was run without cookiecutter rendering it."""
    if raw.startswith("{" * 2):  # still the placeholder (spelled so Jinja leaves it alone)
        raise SystemExit("ERROR: run this hook through cookiecutter (it was not rendered)")
    answers = json.loads(raw)
    if not isinstance(answers, dict):
        raise SystemExit("ERROR: the cookiecutter context is not a JSON object")
    return answers


def replay_hint(answers: Mapping[str, Any]) -> str:
    """How to fix an answer without typing them all again: cookiecutter saved them before this ran."""
    template = str(answers.get("_template") or "<template>")
    # cookiecutter names the file after the template's folder (a clone's, for gh: and git URLs).
    name = PurePath(template.rstrip("/")).name.removesuffix(".git")
    name = name if name not in ("", ".", "..") else "<template folder name>"
    replay = f"~/.cookiecutter_replay/{name}.json"
    return (
        f"Your answers are saved in {replay} (cookiecutter's replay file). Fix the answer named above "
        f"there and run: cookiecutter --replay-file {replay} {template}"
    )


def recorded_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """What `.cookiecutter.json` keeps of valid answers: every answer, the unasked `__` values (the
    stack parameters' defaults) and `_template`; not cookiecutter's own `_` settings or the prompts'
    labels."""
    return {
        key: as_int(key, value) if key in INT_RANGES else value
        for key, value in answers.items()
        if key not in LOCAL_KEYS
        and key != "__prompts__"
        and (not key.startswith("_") or key.startswith("__") or key == "_template")
    }


def write_answers(root: Path, answers: Mapping[str, Any]) -> Path:
    """Store the answers in cookiecutter's replay format (`{"cookiecutter": {...}}`)."""
    target = root / ANSWERS_FILE
    payload = {"cookiecutter": recorded_answers(answers)}
    target.write_text(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def main() -> int:
    """Validate; record valid answers in the new project (cookiecutter runs this hook inside the
    project's folder, before it writes the template's files there)."""
    answers = load_answers()
    errors = validate(answers)
    for message in errors:
        print(f"ERROR: {message}", file=sys.stderr)
    if errors:
        print(replay_hint(answers), file=sys.stderr)
        return 1
    write_answers(Path.cwd(), answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
