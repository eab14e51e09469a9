"""Placeholder: the DaVinci runtime emulation lands in the next commit."""


def register(router, ctx):
    pass
