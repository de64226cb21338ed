"""engage: find the messages a brand must answer."""

__version__ = "0.1.0"
