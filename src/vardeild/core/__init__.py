"""The pure shared kernel: errors, clock, network and identifier helpers. Imports nothing of ours."""
