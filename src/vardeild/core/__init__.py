"""The pure shared kernel: errors, clock, identifiers and text checks. Imports nothing of ours."""
