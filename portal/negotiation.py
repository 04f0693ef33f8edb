"""Content negotiation for an API that answers JSON only.

Its own module: DRF reads DEFAULT_CONTENT_NEGOTIATION_CLASS while it defines APIView, so the class cannot live in
a module that imports rest_framework.views (portal.api does).
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_TAKES_ANY = ("", "*/*")


class JSONFirstNegotiation(DefaultContentNegotiation):
    """A request that takes JSON (no Accept header, `*/*`, `application/json`: nearly every client) gets the JSON
    renderer at once; anything else goes through DRF's negotiation as before (406 when nothing fits). Parsing the
    Accept header on every request was a visible part of an authenticated no-op's time."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "")
        # The query string is parsed only when there is one (a format override could be in it).
        plain = not format_suffix and (
            not request.META.get("QUERY_STRING") or self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        )
        if plain:
            if accept in _TAKES_ANY:
                # What DRF picks too when anything goes: the view's first renderer.
                return renderers[0], renderers[0].media_type
            if accept == "application/json" or accept.startswith("application/json,"):
                for renderer in renderers:
                    if renderer.media_type == "application/json":
                        return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
