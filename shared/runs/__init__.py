"""The runs, one use-case per job (docs/design.md §4-§6): `chat`, `embedding`, `batch`, and the
status poll (`status`); `context` is what every run carries, `inputs` what every run reads,
`ids` the run-id codec and status links."""
