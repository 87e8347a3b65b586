"""analog2digital: the shared vocabulary (wire formats, config, measurements) and the `a2d` command."""

__version__ = "0.1.0"
