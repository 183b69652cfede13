"""Upload size limits enforced while a multipart body is parsed, so an oversized file is
neither kept in memory nor spooled to disk."""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class SizeLimitUploadHandler(FileUploadHandler):
    """Put first in `request.upload_handlers`: once a file passes `limit` bytes the rest of
    it is skipped (the handlers after this one never see it, and the file is absent from
    the parsed data) and `exceeded` is set, for the view to answer 400 `file_too_large`."""

    def __init__(self, request=None, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the file


def limit_upload_size(request, limit: int) -> SizeLimitUploadHandler | None:
    """Install a SizeLimitUploadHandler on a DRF (or Django) request whose body has not
    been parsed yet; None when it already has been (then only the file's size is checked)."""
    django_request = getattr(request, "_request", request)
    handler = SizeLimitUploadHandler(django_request, limit=limit)
    try:
        django_request.upload_handlers = [handler, *django_request.upload_handlers]
    except AttributeError:  # "You cannot set the upload handlers after the upload has been processed."
        return None
    return handler
