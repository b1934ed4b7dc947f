"""`demo` — extension point: brings up the speakers and a demo Service (a later issue).

Hooks the CLI calls when present in this module: register(subparsers), on_down(st).
"""

from . import common


def register(sub):
    p = sub.add_parser("demo", help="run the speakers and a demo Service (not implemented yet)")
    p.set_defaults(func=run)


def run(a):
    raise common.LabError("`lab demo` is not implemented yet (a later issue adds it)", 2)
