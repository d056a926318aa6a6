"""The remote models: Hugging Face Spaces (or any Gradio server) called through gradio_client.

:class:`RemoteModels` is what the pipelines use; :class:`Space` is one endpoint with its
client; :func:`read_token` reads the optional Hugging Face token. gradio_client itself is
imported only when a Space is first used.
"""

from looksay.remote.models import RemoteModels
from looksay.remote.spaces import Space
from looksay.remote.token import read_token

__all__ = ["RemoteModels", "Space", "read_token"]
