"""The one exception type featx shows to users as a one-line message."""


class FeatxError(Exception):
    """A user-facing error: bad input, unknown backbone, incompatible file.

    The CLI prints ``featx: error: <message>`` and exits non-zero, without a traceback.
    """
