"""An out-of-tree sc-toolkit plugin: the worked example of docs/plugins.md."""

__version__ = "0.1.0"
