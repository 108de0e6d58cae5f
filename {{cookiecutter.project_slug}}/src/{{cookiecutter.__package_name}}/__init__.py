"""The deployed package: the Lambda handler and what it calls (README.md explains the project)."""
