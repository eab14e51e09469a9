"""Placeholder: the DaVinci davinci emulation lands in the next commit."""


def register(router, ctx):
    pass
