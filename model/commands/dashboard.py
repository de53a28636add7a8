"""``shaoguan-abm dashboard``: serve the planners' dashboard on this machine.

The page (:mod:`model.dashboard.app`) is a Solara app served by uvicorn. It binds 127.0.0.1 by
default; it has no authentication, so ``--host`` with an address other than loopback prints a
warning. It needs no internet: the front-end assets come from the ``solara-assets`` package
through the server's own asset route, and Solara's usage telemetry is switched off.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from model.commands.common import BadInput


def port_number(text: str) -> int:
    """A TCP port, 1-65535."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number in 1-65535, found {text!r}")
    return value


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only: ``localhost``, 127.0.0.0/8 or ``::1``."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # another host name, or no address at all
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


#: Solara's settings for a page that works with no internet (environment variables).
OFFLINE_SETTINGS = {
    # serve /_solara/cdn/ from the solara-assets package instead of pointing the browser at a CDN
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_THEME_VARIANT_USER_SELECTABLE": "False",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``dashboard``."""
    p = sub.add_parser(
        "dashboard",
        help="serve the interactive dashboard (levers, ensemble, targets) on a local port",
        description="Serve the planners' dashboard: pick or upload a scenario, change the "
        "levers, run a small ensemble and compare it with a pinned run.",
    )
    p.add_argument(
        "--port", type=port_number, default=8765, help="port to listen on (default 8765)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only)",
    )


def main(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    try:
        import solara  # noqa: F401
        import uvicorn
    except ImportError as err:
        raise BadInput(
            f"the dashboard needs the 'dashboard' extra: pip install -e '.[dashboard]' ({err})"
        ) from None
    for key, value in OFFLINE_SETTINGS.items():
        os.environ.setdefault(key, value)
    os.environ["SOLARA_APP"] = "model.dashboard.app"
    if not is_loopback(args.host):
        print(
            f"warning: --host {args.host}: the page has no authentication: anyone who can reach "
            f"this address can use it, run ensembles on this machine and upload scenarios to it; "
            f"bind 127.0.0.1 (the default) unless the network is trusted",
            file=sys.stderr,
            flush=True,
        )
    print(f"dashboard: http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    uvicorn.run("solara.server.starlette:app", host=args.host, port=args.port, log_level="warning")
    return 0
