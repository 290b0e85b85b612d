"""The halab node image as an Incus image: imported once per image hash, under the alias ``halab/<hash>``.

The same rootfs the nspawn and VM providers use (halab/image/), sent as a unified image tarball
(``metadata.yaml`` + ``rootfs/``) streamed straight from ``tar`` into the API, so no copy of it is written.
``metadata.yaml`` is generated here: Incus needs the architecture and a creation date; the rest describes it.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from halab import paths
from halab.errors import HalabError
from halab.host import locks
from halab.image.build import Image
from halab.providers.incus.api import Client, EngineError
from halab.types import Progress


def alias(image: Image) -> str:
    return f"halab/{image.hash}"


def metadata_yaml(image: Image, created: int | None = None) -> str:
    """Incus' image metadata for the node image (no templates: halab writes each node's identity itself)."""
    return (f"architecture: x86_64\ncreation_date: {int(created if created is not None else time.time())}\n"
            f"properties:\n  os: debian\n  release: bookworm\n  variant: halab\n"
            f"  description: halab node image {image.hash}\n")


def ensure_image(client: Client, image: Image, progress: Progress) -> str:
    """The image's fingerprint in the engine, importing it first if the engine lacks it."""
    name = alias(image)

    def busy(holder: locks.Holder | None) -> HalabError:
        return HalabError(f"another halab is importing the node image into Incus{f' ({holder})' if holder else ''}")

    with locks.hold(paths.state_dir() / ".incus-image.lock", busy, wait=600):
        try:
            return str(client.get(f"/1.0/images/aliases/{name}")["target"])
        except EngineError as exc:
            if exc.status != 404:
                raise
        progress(f"importing the node image into Incus as {name} (once per image)")
        fingerprint = _upload(client, image)
        try:
            client.request("POST", "/1.0/images/aliases", body={"name": name, "target": fingerprint,
                                                                "description": "halab node image"})
        except EngineError as exc:
            if exc.status != 409:  # made meanwhile by another front host: the same image
                raise
        return fingerprint


def _upload(client: Client, image: Image) -> str:
    with tempfile.TemporaryDirectory() as meta:
        (Path(meta) / "metadata.yaml").write_text(metadata_yaml(image))
        tar = subprocess.Popen(["tar", "--numeric-owner", "-cf", "-", "-C", meta, "metadata.yaml",
                                "-C", str(image.path), "rootfs"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert tar.stdout is not None
        try:
            result = client.request("POST", "/1.0/images", data=tar.stdout,
                                    headers={"Content-Type": "application/octet-stream"})
        finally:
            tar.stdout.close()
            _, errors = tar.communicate()
        if tar.returncode != 0:
            raise HalabError(f"tar of the node image failed: {errors.decode(errors='replace').strip()[-300:]}")
    if not isinstance(result, dict) or "fingerprint" not in result:
        raise HalabError(f"Incus did not say which image it imported: {result!r}")
    return str(result["fingerprint"])
