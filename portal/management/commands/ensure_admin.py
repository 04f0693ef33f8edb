"""Make sure the first administrator account exists, so a fresh install can be logged into."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the superuser `admin` if it does not exist (password from ADMIN_PASSWORD, else generated and printed once)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Admin account '{username}' already exists; its password is unchanged.")
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if os.environ.get("ADMIN_PASSWORD"):
            self.stdout.write(self.style.SUCCESS(f"Created admin account '{username}' with the password from ADMIN_PASSWORD."))
        else:
            # Printed once, here, and stored only as Django's password hash.
            self.stdout.write(
                self.style.SUCCESS(f"Created admin account '{username}' with password: {password}\n")
                + "Write it down now: it is not shown again (change it in the admin)."
            )
