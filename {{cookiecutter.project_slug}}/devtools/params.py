"""`make deploy PARAMS=...`: check the stack's parameters before anything changes, then hand them on.

    python -m devtools.params check "MaxHops=5000 MemorySize=3008"
    python -m devtools.params overrides "MaxHops=5000"

`check` resolves template.yaml like `sam deploy` (defaults, samconfig.toml's parameter_overrides,
then the given ones), refuses a value outside the template's bounds, and runs the function's own
configuration check on the environment it would get (the loop rule, overlapping prefixes), so a
bad override fails here rather than in a half-updated stack or at the function's first cold start.
`overrides` prints samconfig's overrides with the given ones on top, one `Name=value` per word:
`sam deploy --parameter-overrides` replaces samconfig's list instead of adding to it.
"""

from __future__ import annotations

import argparse
import sys

from . import stack_template
from .package import deployed_package
from .project import ROOT


def check(overrides: str, env: str = "default") -> stack_template.Stack:
    stack = stack_template.load(ROOT, overrides, env)
    config = deployed_package("config")
    try:
        cfg = config.Config.from_env(stack.function.env)
    except config.ConfigError as exc:
        raise stack_template.TemplateError(f"the function would refuse this configuration: {exc}") from None
    check_parallelism(cfg.parallelism, stack.function.reserved_concurrency)
    check_retention(cfg.max_run_seconds, stack.parameters.get("StateRetentionDays", ""))
    return stack


def check_retention(max_run_seconds: int, retention_days: str) -> None:
    """A run needs state as old as the run itself (its ledger's first pages, a fan-out plan and
    its ranges' first checkpoints) until it ends, and the lifecycle rule expires state by age."""
    try:
        days = float(retention_days)  # a Number parameter: "14" or "14.0"
    except ValueError:
        return  # not a number: CloudFormation refuses it before anything changes
    if max_run_seconds >= days * 86_400:
        raise stack_template.TemplateError(
            f"MaxRunHours={max_run_seconds // 3600} is not less than StateRetentionDays={retention_days} "
            "(in hours): the lifecycle rule could expire a run's first checkpoints and ledger pages while it "
            "still needs them; raise StateRetentionDays or lower MaxRunHours"
        )


def check_parallelism(parallelism: int, reserved: int | None) -> None:
    """What the function checks at init (merge in process.py), and that the ranges can all run."""
    if parallelism > 1 and not callable(getattr(deployed_package("process"), "merge", None)):
        raise stack_template.TemplateError(
            f"Parallelism={parallelism} needs merge(left, right) in process.py to combine the ranges' "
            "states (see its docstring); define it, or deploy with Parallelism=1"
        )
    if reserved is not None and parallelism > reserved:
        raise stack_template.TemplateError(
            f"Parallelism={parallelism} is more than ReservedConcurrency={reserved}: the ranges could not "
            "all run at once; raise ReservedConcurrency or lower Parallelism"
        )


def merged(overrides: str, env: str = "default") -> list[str]:
    _, _, configured = stack_template.samconfig(ROOT, env)
    given = stack_template.parse_overrides(overrides)
    return [f"{name}={value}" for name, value in {**configured, **given}.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.params", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["check", "overrides"])
    parser.add_argument("params", nargs="?", default="", help='"Name=value Name2=value2"')
    parser.add_argument("--config-env", default="default", help="samconfig.toml environment")
    args = parser.parse_intermixed_args(argv)
    try:
        if args.action == "overrides":
            print(" ".join(merged(args.params, args.config_env)))
            return 0
        stack = check(args.params, args.config_env)
    except stack_template.TemplateError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    shown = " ".join(f"{k}={v}" for k, v in stack.parameters.items())
    print(f"parameters of {stack.name} ({stack.region}) are valid: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
