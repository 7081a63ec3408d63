from onesource.cli import app

app()
