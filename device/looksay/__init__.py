"""looksay: a camera that says what it sees, for people who cannot see well."""

__version__ = "0.1.0"
