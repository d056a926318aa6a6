"""Shared test set-up.

gradio reads its environment at import time, so it is set here, before any test module
imports it. Fixtures live in plugin modules next to this file, one per area.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"
# No test may send a real token anywhere.
os.environ.pop("HF_TOKEN", None)
os.environ.pop("LOOKSAY_CONFIG", None)

pytest_plugins = [
    "tests.fixtures_spaces",
    "tests.fixtures_audio",
    "tests.fixtures_device",
]
