"""The IaC tests' fixtures live in stack.py (importable by the tests); pytest finds them here."""

from .stack import deployed, sam_template, translated

__all__ = ["deployed", "sam_template", "translated"]
