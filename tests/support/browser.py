"""Headless Chromium (Debian's; make test installs it): where it is, the flags it needs, a page's screenshot."""

from __future__ import annotations

import shutil
import subprocess

from tests.support.paths import artifact

# the flags a headless Chromium needs on a closed network (no background connections, no sandbox as root)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    """Debian's Chromium (make test installs it)."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


def screenshot(port: int, path: str, name: str) -> str:
    """A screenshot of ``http://127.0.0.1:PORT/PATH`` at 1600x1000, in the artifacts' ``screenshots`` folder."""
    png = str(artifact(name, "screenshots"))
    subprocess.run([chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1600,1000", "--virtual-time-budget=25000", f"--screenshot={png}",
                    f"http://127.0.0.1:{port}{path}"], capture_output=True, timeout=180)
    return png
