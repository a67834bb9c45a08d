"""What the token minting helpers (tok.py, idtok.py, renewtok.py) share:
base64url without padding, and claims or header members set from the
command line, where "now", "now+N" and "now-N" are times and anything else
is JSON."""

import base64
import json
import re


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def value(text, now):
    m = re.fullmatch(r"now([+-]\d+)?", text)
    if m:
        return now + int(m.group(1) or 0)
    return json.loads(text)


def assign(obj, settings, unsets, now):
    for s in settings:
        k, v = s.split("=", 1)
        obj[k] = value(v, now)
    for k in unsets:
        obj.pop(k, None)
