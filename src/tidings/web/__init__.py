"""The reader's app: a JSON API (and, later, pages) over :class:`tidings.library.Tidings`."""

from tidings.web.app import create_app

__all__ = ["create_app"]
