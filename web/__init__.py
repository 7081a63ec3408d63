"""The web layer both apps stand on (the API and the reviewer's workbench): one copy of each guard.

``web.layer.protect`` puts it around an app: the request log outermost (``web.requestlog``), then the guard
(``web.guard``: the per-address throttle, the limits before work, the security and cache headers, a refusal
instead of a traceback), with the refusals rendered as the app speaks (``web.refusals``: JSON for the API, an
HTML page for the workbench, the same status codes). ``web.throttle`` holds the token buckets every throttle
spends from, failed sign-ins included, in a table of bounded size. The layer knows only the core.
"""
