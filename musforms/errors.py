"""The few exceptions musforms raises. The CLI turns each into one readable line."""

from __future__ import annotations


class MusformsError(Exception):
    """Base class: a problem the HR officer can act on. The message says what and where."""


class ConfigError(MusformsError):
    """Raised when a question set, roster or settings file cannot be used as written."""


class FormReadError(MusformsError):
    """Raised when a returned file cannot be read as a form (corrupt, encrypted, too large)."""


class NotMusformsError(FormReadError):
    """Raised when a readable file carries no musforms identity."""


class IdentityError(MusformsError):
    """Raised when a form's identity is missing, unsigned or does not verify."""


class SignatureError(IdentityError):
    """Raised when a form's identity was not signed with the key in use (altered, or made
    with another key)."""


class KeyFileError(MusformsError):
    """Raised when the signing key cannot be created or read."""
