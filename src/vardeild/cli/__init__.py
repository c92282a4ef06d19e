"""The `vardeild` command line: the root command in `main`, one module per command group."""
