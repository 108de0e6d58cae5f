"""Offline tests of template.yaml: lint, SAM translation, deployment into moto, sam build."""
