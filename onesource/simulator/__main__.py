from onesource.simulator.cli import app

app()
