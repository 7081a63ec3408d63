from onesource.cli import run

run()
