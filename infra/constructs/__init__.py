"""Constructs, one concern each; stacks compose them."""
