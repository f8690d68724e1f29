"""Deployment discovery (docs/design.md §7): `classify` (pure: deployments in, job definitions
out) and `sync` (ARM listing, registry write, outcome)."""
