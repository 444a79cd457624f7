"""The fake transport for protocol tests lives in xcal.testing, where third-party driver authors use it too."""

from xcal.testing import ExpectedProtocol, expected_protocol

__all__ = ["ExpectedProtocol", "expected_protocol"]
