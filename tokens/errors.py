"""The refusals of the token services, each with a stable code.

The admin and the management commands show `message`; the API's exception handler renders
`code`, `status` and `field` in the error shape of API.md.
"""

from portal.errors import PortalError


class TokenServiceError(PortalError):
    """Base of every refusal raised by `tokens.services`."""


class InstanceNotFound(TokenServiceError):
    status = 404
    code = "instance_not_found"


class InstanceInvalid(TokenServiceError):
    code = "instance_invalid"


class LicenseInvalid(TokenServiceError):
    code = "license_invalid"


class LicenseInactive(TokenServiceError):
    status = 403
    code = "license_inactive"


class TokenLimitReached(TokenServiceError):
    status = 409
    code = "token_limit_reached"


class LabelInvalid(TokenServiceError):
    code = "label_invalid"


class LabelTaken(TokenServiceError):
    status = 409
    code = "label_taken"


class DaysInvalid(TokenServiceError):
    code = "days_invalid"


class SpacesInvalid(TokenServiceError):
    code = "spaces_invalid"


class TokenNotFound(TokenServiceError):
    status = 404
    code = "token_not_found"


class AlreadyRevoked(TokenServiceError):
    status = 409
    code = "already_revoked"
