"""Errors that reach the user as one line on stderr and exit status 2."""


class UserError(Exception):
    """Bad usage or bad input: printed as 'tdxbot: <message>', exit 2."""
