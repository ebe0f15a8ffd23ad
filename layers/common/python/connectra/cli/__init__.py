"""The `connectra` command line."""
