"""Dev-only tooling: a local AWS Lambda + S3 emulator and the `make simulate` command.

Nothing here is deployed (SAM's CodeUri is src/); it exists so the real handler can run its whole
recursive chain offline, under real deadlines, with the faults Lambda inflicts in production.
"""
