"""The tests' library: plain functions and classes that tests call, one module per concern.

Fixtures are not here: they live in the ``conftest.py`` files and reach a test by pytest's fixture discovery
(``tests/conftest.py``: the small city, built once per session; ``tests/journeys/conftest.py``: the demo city).
No test imports a conftest; a helper two test modules need is here, not in either of them.

- ``paths``: the repository, the shared spec, the examples' landing zone, the artifacts folder
- ``commands``: ``onesource`` (or the simulator) in a subprocess
- ``waiting``: polling for a condition
- ``servers``: a free port, whether a server answers, the process group a command started
- ``lakes``: the platform pointed at a folder, a landing zone built into its lake, a landing zone's first days
- ``pgcluster``: a PostgreSQL cluster of the test's own, with pgaudit
- ``roles``: what a role of the access policy sees and cannot switch off
- ``api``: the consented-data API in-process, with its store
- ``my_numbers``: 12-digit runs and valid 個人番号 in text and landing zones
- ``browser``: headless Chromium
- ``demo``: the demo city as ``make demo`` builds it, and the README's commands on it
"""
