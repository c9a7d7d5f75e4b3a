"""manage.py create_api_token USERNAME [--name NAME]: print a new API token once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from studio import roles
from studio.services import create_api_token


class Command(BaseCommand):
    help = (
        "Create a personal API token for USERNAME and print it once. The token is the "
        "last line of the output; only its SHA-256 digest is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The team member the token acts as.")
        parser.add_argument(
            "--name", default="Command line", help="What the token is for (default: %(default)s)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        name: str = options["name"].strip()
        if not name:
            raise CommandError(_("--name must not be empty."))
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user is called “%(username)s”.") % {"username": username})
        if not user.is_active:
            raise CommandError(
                _("The user “%(username)s” is deactivated; reactivate them first.")
                % {"username": username}
            )
        role = roles.role_of(user)
        if role is None:
            raise CommandError(
                _(
                    "The user “%(username)s” has no role in the studio; give them one on the "
                    "team page first."
                )
                % {"username": username}
            )
        token, raw = create_api_token(user=user, name=name)
        if options["verbosity"] >= 1:
            self.stderr.write(
                _(
                    "Created the token “%(name)s” (starts with %(prefix)s) for %(username)s. "
                    "It is shown only now:"
                )
                % {"name": token.name, "prefix": token.prefix, "username": username}
            )
        self.stdout.write(raw)
