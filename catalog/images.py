"""Product image files: checking and cleaning an upload, storing it, thumbnails, deletion.

Every upload is opened with Pillow and must be a real JPEG, PNG, WebP or GIF of at most
IMAGE_MAX_PIXELS (width x height x frames: the memory decoding it takes) and
IMAGE_MAX_BYTES; anything else is InvalidImage / FileTooLarge (400), never a 500 (Pillow's
own decompression-bomb error and warning included). The pixels are then re-encoded in
the same format, which drops EXIF, XMP, comments and every other metadata block (GPS
positions, camera serials) after the EXIF orientation has been applied to the pixels;
only the ICC colour profile is kept, so colours look the same. The result is stored in
STORAGES["default"] under a name made of its SHA-256 (`products/ab/abcdef….jpg`): equal
uploads share one file, and a name never collides with another picture.

Thumbnails are made by easy-thumbnails (aliases from IMAGE_THUMBNAIL_SIZES, WebP) from
the stored file, by the background job catalog.tasks.make_product_image_thumbnails.
easy-thumbnails names them after the source and the options, and overwrites rather than
suffixes on a second run, so making them twice leaves one set of files."""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage, storages
from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.errors import FileTooLarge, InvalidImage

# Pillow format name -> file extension of the stored file.
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
UPLOAD_DIR = "products"


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    format: str
    width: int
    height: int

    @property
    def name(self) -> str:
        digest = hashlib.sha256(self.content).hexdigest()
        return f"{UPLOAD_DIR}/{digest[:2]}/{digest[:40]}.{ALLOWED_FORMATS[self.format]}"


def check_size(size: int | None) -> None:
    if size is not None and size > settings.IMAGE_MAX_BYTES:
        raise FileTooLarge(f"The image is larger than {settings.IMAGE_MAX_BYTES} bytes.")


def clean_upload(upload) -> CleanImage:
    """Check an uploaded file (a Django File / UploadedFile or any binary file object) and
    return its re-encoded, metadata-free content. Raises FileTooLarge or InvalidImage."""
    check_size(getattr(upload, "size", None))
    if hasattr(upload, "seek"):
        upload.seek(0)
    # Never more than the limit + 1 byte in memory: a file object without a size is cut.
    data = upload.read(settings.IMAGE_MAX_BYTES + 1)
    check_size(len(data))
    return clean_bytes(data)


def clean_bytes(data: bytes) -> CleanImage:
    try:
        with warnings.catch_warnings():
            # Pillow warns (then raises, at twice its own limit) about decompression bombs;
            # both are our invalid_image.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                # Phone cameras write MPO: a JPEG whose extra pictures (depth maps,
                # previews) are dropped; the primary picture is kept as a JPEG.
                fmt = "JPEG" if img.format == "MPO" else img.format
                if fmt not in ALLOWED_FORMATS:
                    raise InvalidImage(f"Format {img.format} is not allowed: use JPEG, PNG, WebP or GIF.", attr="image")
                frames = 1 if img.format == "MPO" else getattr(img, "n_frames", 1) or 1
                width, height = img.size
                if width < 1 or height < 1 or width * height * frames > settings.IMAGE_MAX_PIXELS:
                    raise InvalidImage(
                        f"The image has more than {settings.IMAGE_MAX_PIXELS} pixels ({width}x{height}"
                        f"{f' x {frames} frames' if frames > 1 else ''}).",
                        attr="image",
                    )
                return _reencode(img, fmt, frames)
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage("The file is not an image Pillow can read, or it is too large to decode.") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as exc:
        # Truncated or corrupt data, found while decoding.
        raise InvalidImage("The image could not be decoded (truncated or corrupt).") from exc


# What a re-encoded file keeps of the source's info: how it is drawn, nothing about where
# or by whom it was taken.
_KEEP_INFO = ("transparency", "duration", "loop", "background")


def _reencode(img: Image.Image, fmt: str, frames: int) -> CleanImage:
    icc = img.info.get("icc_profile")
    options: dict = {"exif": b""}
    if icc and fmt in ("JPEG", "PNG", "WEBP"):
        options["icc_profile"] = icc
    if fmt == "JPEG":
        options.update(quality=90, optimize=True)
    elif fmt == "WEBP":
        options.update(quality=90)
    if frames > 1:
        # Animated GIF / WebP: every frame with its timing; there is no EXIF orientation
        # to apply, and the metadata go with the dropped info.
        img.info = {k: v for k, v in img.info.items() if k in _KEEP_INFO}
        options["save_all"] = True
        clean = img
    else:
        img.load()
        clean = ImageOps.exif_transpose(img)  # the pixels as they are meant to be seen
        if clean is img:
            clean = img.copy()
        clean.info = {k: v for k, v in img.info.items() if k in _KEEP_INFO and k != "background"}
        if "transparency" in clean.info and fmt in ("PNG", "GIF"):
            options["transparency"] = clean.info["transparency"]
        if fmt == "JPEG" and clean.mode not in ("RGB", "L", "CMYK"):
            clean = clean.convert("RGB")
    if fmt == "GIF":
        options.pop("exif")
    out = io.BytesIO()
    clean.save(out, format=fmt, **options)
    width, height = clean.size
    return CleanImage(out.getvalue(), fmt, width, height)


def store(image: CleanImage, storage=None) -> str:
    """Save the cleaned file under its content name (once: an equal file is reused) and
    return the name."""
    storage = storage or default_storage
    name = image.name
    if not storage.exists(name):
        saved = storage.save(name, ContentFile(image.content))
        if saved != name:  # a concurrent upload of the same picture won the name: keep one copy
            storage.delete(saved)
    return name


def url(name: str | None, storage=None) -> str | None:
    """The public URL of a stored file. The local file system's URLs depend only on the
    name and MEDIA_URL, so they are remembered (a product list asks for four per image:
    the file and its thumbnails, and storage.url was a tenth of an uncached list's time);
    any other storage (S3 may sign URLs that expire) is asked every time."""
    if not name:
        return None
    if storage is None:
        storage = storages["default"]  # the storage itself: default_storage is a lazy proxy
    if type(storage) is FileSystemStorage:
        return _filesystem_url(storage, storage.base_url, name)
    return storage.url(name)


@lru_cache(maxsize=8192)
def _filesystem_url(storage, base_url: str | None, name: str) -> str:
    # Keyed by the storage and its base_url too: tests (and setting_changed) may change MEDIA_URL.
    return storage.url(name)


def thumbnail_options() -> dict[str, dict]:
    """easy-thumbnails options of each thumbnail size (fit inside a square, no upscaling)."""
    return {alias: {"size": (side, side), "quality": settings.THUMBNAIL_QUALITY} for alias, side in _sizes()}


def _sizes() -> Iterable[tuple[str, int]]:
    return settings.IMAGE_THUMBNAIL_SIZES.items()


def make_thumbnails(name: str, *, only: Iterable[str] | None = None, storage=None) -> dict[str, str]:
    """Make (or find, when already made) the WebP thumbnails of the stored image `name`;
    returns {size: thumbnail file name}. `only` limits it to some sizes."""
    from easy_thumbnails.files import Thumbnailer

    storage = storage or default_storage
    thumbnailer = Thumbnailer(name=name, source_storage=storage, thumbnail_storage=storage)
    wanted = set(only) if only is not None else None
    made = {}
    for alias, options in thumbnail_options().items():
        if wanted is not None and alias not in wanted:
            continue
        thumbnail = thumbnailer.get_thumbnail(options)
        made[alias] = thumbnail.name
    return made


def thumbnail_names(name: str, storage=None) -> list[str]:
    """The names the thumbnails of `name` have when made (whether or not they exist)."""
    from easy_thumbnails.files import Thumbnailer

    storage = storage or default_storage
    thumbnailer = Thumbnailer(name=name, source_storage=storage, thumbnail_storage=storage)
    names = set()
    for options in thumbnail_options().values():
        for transparent in (False, True):
            names.add(thumbnailer.get_thumbnail_name(thumbnailer.get_options(options), transparent=transparent))
    return sorted(names)


def delete_files(names: Iterable[str], storage=None) -> None:
    """Delete stored files (a source and its thumbnails), and easy-thumbnails' records of
    them. Callers check first that no other image row still uses the source."""
    from easy_thumbnails.models import Source

    storage = storage or default_storage
    names = [n for n in names if n]
    for name in names:
        storage.delete(name)
    Source.objects.filter(name__in=names).delete()
