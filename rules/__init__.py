"""tdxbot's rules, one module each. The engine discovers every module here
that defines ID and a check function; see bot/rulekit.py for the contract."""
