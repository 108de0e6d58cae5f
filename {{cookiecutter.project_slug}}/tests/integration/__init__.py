"""Tests against a real deployed stack (skipped unless STACK_NAME and AWS credentials are set)."""
