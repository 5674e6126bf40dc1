"""tidings: a personalised news feed of stories that matter to you."""

__version__ = "0.1.0"
