"""The data wing's error type."""


class DatasetNotFoundError(FileNotFoundError):
    """A data set is not available locally; the message says how to get it (a
    `FileNotFoundError`)."""
