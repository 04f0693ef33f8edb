"""A stand-in for PlantUML's command line in pipe mode (-tpng -pipe): source on stdin, PNG on stdout.

A source containing "syntax error" fails as PlantUML does (exit status 200, the error on stderr). It refuses to
run outside PlantUML's sandbox security profile, which the portal must ask for.
"""

import os
import sys

PNG = b"\x89PNG\r\n\x1a\n"

if os.environ.get("PLANTUML_SECURITY_PROFILE") != "SANDBOX":
    sys.exit("PlantUML must run in its sandbox profile: the source is the author's")
if sys.argv[1:] != ["-tpng", "-pipe"]:
    sys.exit(f"unexpected arguments {sys.argv[1:]}")
source = sys.stdin.buffer.read().decode("utf-8")
if not source.startswith("@startuml"):
    sys.exit("no @startuml")
if "syntax error" in source:
    print("ERROR\n2\nSyntax Error?", file=sys.stderr)
    sys.exit(200)
sys.stdout.buffer.write(PNG + b"plantuml:" + source.encode())
