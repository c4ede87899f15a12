"""What several browser tests do."""


def settled(page, quiet_ms: int = 500) -> None:
    """Wait until the page's script runs have ended: Streamlit's status widget has not said "Running" for
    ``quiet_ms`` (one run ending and the next, a fragment's, starting can leave it idle for a moment)."""
    page.evaluate("() => { window.__sgdIdleSince = undefined; }")
    page.wait_for_function(
        """(quiet) => {
            const w = document.querySelector('[data-testid="stStatusWidget"]');
            const busy = !!w && /Running|実行中/.test(w.innerText);
            const now = performance.now();
            if (busy || window.__sgdIdleSince === undefined) {
                window.__sgdIdleSince = busy ? undefined : now;
                return false;
            }
            return now - window.__sgdIdleSince >= quiet;
        }""",
        arg=quiet_ms,
        timeout=30_000,
    )
