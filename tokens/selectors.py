"""Reads that more than one caller needs (admin, commands, API)."""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Count, QuerySet

from tokens import secret as token_secret
from tokens.errors import InstanceNotFound, TokenNotFound
from tokens.models import Instance, Token, live_token_condition


def instance_by_name(name: str) -> Instance:
    instance = Instance.objects.filter(name=name.strip()).select_related("license").first()
    if instance is None:
        known = ", ".join(Instance.objects.values_list("name", flat=True)[:20]) or "none yet"
        raise InstanceNotFound(f"No instance is named {name!r} (known: {known}).", field="instance")
    return instance


def live_tokens(instance: Instance, at: dt.datetime | None = None) -> QuerySet[Token]:
    return Token.objects.live(at).filter(instance=instance)


def instances_with_live_counts(at: dt.datetime | None = None) -> QuerySet[Instance]:
    """Instances annotated with `live_token_count`, in one query (the admin's list)."""
    return Instance.objects.annotate(live_token_count=Count("tokens", filter=live_token_condition(at, via="tokens__")))


def token_by_reference(reference: str) -> Token:
    """A token by its id, its full secret (someone holding a leaked token), or its hint as the admin shows it.

    The hint's ellipsis may be typed as "..." on a command line.
    """
    reference = reference.strip()
    tokens = Token.objects.select_related("instance")
    if reference.isdigit():
        token = tokens.filter(pk=int(reference)).first()
    elif token_secret.is_well_formed(reference):
        token = tokens.filter(secret_hash=token_secret.hash_of(reference)).first()
    else:
        hint = re.sub(r"\.\.\.", "…", reference)
        matches = list(tokens.filter(hint=hint)[:5])
        if len(matches) > 1:
            ids = ", ".join(str(t.pk) for t in matches)
            raise TokenNotFound(f"The hint {reference!r} matches several tokens (ids {ids}); give the id instead.")
        token = matches[0] if matches else None
    if token is None:
        raise TokenNotFound(f"No token matches {reference!r}: give its id or its hint (list_tokens shows both).")
    return token
