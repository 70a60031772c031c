"""tdxbot's rules, one module each. The engine discovers every module here
that defines ID and a check function; see bot/lint/kit.py for the contract."""
