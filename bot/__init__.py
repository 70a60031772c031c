"""tdxbot: review and lint bot for Linux kernel patches touching Intel TDX code."""

__version__ = "0.1.0"
