"""The reference client: the guide's API whose behaviour is the spec's statecharts.

It depends on `spec`, never the reverse.
"""
