"""What several browser tests do."""


def settled(page) -> None:
    """Wait until the page's script run has ended (Streamlit's status widget no longer says it is running)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.match(/Running|実行中/)",
        timeout=30_000,
    )
    page.wait_for_timeout(500)
