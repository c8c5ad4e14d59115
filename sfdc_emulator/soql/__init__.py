"""SOQL: tokenizer, recursive-descent parser, evaluator and query cursors."""

from .cursors import QueryCursors

__all__ = ["QueryCursors"]
