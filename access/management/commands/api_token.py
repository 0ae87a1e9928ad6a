"""Print a user's API token: ``api_token USERNAME [--create] [--reset] [--role ROLE …]``."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from access.roles import ROLES, grant_role


class Command(BaseCommand):
    help = (
        "Print the API token of USERNAME (made on first use). --create makes the user "
        "when absent; --reset replaces the token with a new one; --role puts the user in "
        f"a role ({', '.join(ROLES)}), and may be repeated."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--create", action="store_true", help="create the user if it does not exist"
        )
        parser.add_argument(
            "--reset", action="store_true", help="replace the token (the old one stops working)"
        )
        parser.add_argument(
            "--role", action="append", default=[], choices=list(ROLES), metavar="ROLE",
            help="add the user to this role: " + "; ".join(
                f"{role.name} = {role.purpose}" for role in ROLES.values()
            ),
        )

    def handle(self, username, create=False, reset=False, role=(), **options):
        users = get_user_model()
        with transaction.atomic():
            user = users.objects.filter(**{users.USERNAME_FIELD: username}).first()
            if user is None:
                if not create:
                    raise CommandError(f"No user {username!r} (add --create to make one).")
                user = users.objects.create_user(username)  # no password: token only
                self.stderr.write(self.style.SUCCESS(f"Created user {username!r}."))
            for role_name in role:
                grant_role(user, role_name)
            if reset:
                Token.objects.filter(user=user).delete()
            token, made = Token.objects.get_or_create(user=user)
        for role_name in role:
            self.stderr.write(f"{username!r} holds the role {role_name!r}.")
        if made and not reset:
            self.stderr.write(f"Issued a token for {username!r}.")
        elif reset:
            self.stderr.write(self.style.WARNING(f"Replaced the token of {username!r}."))
        self.stdout.write(token.key)
