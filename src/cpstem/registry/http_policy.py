"""HTTP answers that a deployment needs on every response.

* :class:`SecurityHeaders`: a Content-Security-Policy (scripts, styles, images, fonts and
  connections from the registry's own origin only; no inline script or style, no plug-ins, no
  framing) and a Permissions-Policy (no camera, microphone, location, ...) on every HTML page;
  ``Cache-Control: no-store`` on every API answer and on every answer to a logged-in user (they
  show patient data: a shared computer's browser cache must not keep them).
* :class:`RequestErrors`: a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 (JSON on
  the API, a page elsewhere) and a database that stays locked (a backup, a long import) is a
  503 -- JSON ``{"detail": ..., "code": "database_busy"}`` on the API; on a page, a page that
  says nothing was saved and keeps what was typed (a button sends it again).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from cpstem.registry.dblock import is_lock_error

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)
API_PREFIX = "/api/"
#: Seconds a client should wait before it retries a write refused with 503.
RETRY_AFTER_S = 5


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


class SecurityHeaders:
    """CSP and Permissions-Policy on pages; no-store on the API and for logged-in users."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if is_api(request) or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
        return response


def too_large(request: HttpRequest) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"the request body is larger than the registry accepts ({limit:,} bytes)"
    if is_api(request):
        body = {"detail": message, "code": "request_too_large", "limit_bytes": limit}
        return JsonResponse(body, status=413)
    return render(request, "registry/error_too_large.html", {"limit": limit}, status=413)


def busy(request: HttpRequest) -> HttpResponse:
    message = (
        "the registry database is busy (a backup or another long write holds it): "
        "nothing was saved; try again in a few seconds"
    )
    if is_api(request):
        response: HttpResponse = JsonResponse(
            {"detail": message, "code": "database_busy"}, status=503
        )
    else:
        typed = [
            (key, value)
            for key in request.POST
            if key != "csrfmiddlewaretoken"
            for value in request.POST.getlist(key)
        ]
        response = render(
            request,
            "registry/error_busy.html",
            {"typed": typed, "action": request.get_full_path()},
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class RequestErrors:
    """413 for an oversized body (before anything reads it), 503 for a locked database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._declared_too_large(request):
            return too_large(request)
        return self.get_response(request)

    @staticmethod
    def _declared_too_large(request: HttpRequest) -> bool:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or request.content_type == "multipart/form-data":
            return False  # uploaded files are streamed to disk, not held in memory
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return length > limit

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large(request)
        if isinstance(exception, DatabaseError) and is_lock_error(exception):
            return busy(request)
        return None
