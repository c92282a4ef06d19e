"""Tests of the `vardeild` command line (a package, so its conftest does not shadow the
root one, which other tests import as `conftest`)."""
