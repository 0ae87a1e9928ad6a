"""Make sure a newcomer can log in: create an `admin` superuser when no user exists."""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an 'admin' superuser with a generated password (printed once) if no user exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, **options):
        user_model = get_user_model()
        if user_model.objects.exists():
            self.stdout.write("Users exist already; log in with yours (or run createsuperuser).")
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(options["username"], "", password)
        self.stdout.write(self.style.SUCCESS(
            f"Created superuser '{options['username']}' with password: {password}\n"
            "It is shown only this once; change it in the admin."
        ))
